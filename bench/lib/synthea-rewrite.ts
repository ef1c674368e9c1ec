/**
 * WORKAROUND, only with --synthea-rewrite-conditionals: turns the Synthea bundles' conditional
 * creates (`ifNoneExist: identifier=S|V`) into PUTs with an id derived from V, and conditional
 * references (`Practitioner?identifier=S|V`) into `Practitioner/<that id>`, for servers without
 * conditional operations. It changes the workload (PUT instead of a search + create), so figures
 * measured with it are labelled as such.
 */
import type { Bundle } from '../../src/fhir/types.js';

const CONDITIONAL_REFERENCE = /^([A-Z][A-Za-z]+)\?identifier=[^|]*\|(.+)$/;

export function idFor(identifierValue: string): string {
  return `syn-${identifierValue.replace(/[^A-Za-z0-9\-.]/g, '-')}`.slice(0, 64);
}

export function rewriteConditionals(bundle: Bundle): Bundle {
  for (const entry of bundle.entry ?? []) {
    const condition = /^identifier=[^|]*\|(.+)$/.exec(entry.request?.ifNoneExist ?? '');
    if (entry.request && entry.resource && condition) {
      const id = idFor(condition[1]);
      entry.resource.id = id;
      entry.request = { method: 'PUT', url: `${entry.resource.resourceType}/${id}` };
    }
  }
  return rewriteReferences(bundle) as Bundle;
}

function rewriteReferences(value: unknown): unknown {
  if (Array.isArray(value)) {
    value.forEach((item, i) => (value[i] = rewriteReferences(item)));
  } else if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    for (const [key, inner] of Object.entries(object)) {
      const match = key === 'reference' && typeof inner === 'string' ? CONDITIONAL_REFERENCE.exec(inner) : null;
      object[key] = match ? `${match[1]}/${idFor(match[2])}` : rewriteReferences(inner);
    }
  }
  return value;
}
