import { compileDefinition } from '../extract.js';
import { r4Model } from '../model.js';
import type { SearchParamDefinition } from '../parameters.js';

/**
 * Whether a token parameter indexes primitive elements only (`code`, `boolean`, `string`, …):
 * those carry no system in the resource (it is implied by the binding), so a searched system
 * cannot be checked and `system|code` matches on the code alone.
 */
const cache = new Map<string, boolean>();
const PRIMITIVE = /^(code|boolean|string|id|uri|url|canonical|oid|uuid|markdown)$/;

export function systemImplied(param: SearchParamDefinition): boolean {
  // Keyed by the expression too: a custom definition may replace a base one.
  const key = `${param.base}.${param.code} ${param.expression ?? ''}`;
  let implied = cache.get(key);
  if (implied === undefined) {
    const plan = compileDefinition(param, param.base);
    // A result path ends at a type name when the last step reaches a primitive (`code`).
    const types = (plan && 'path' in plan ? plan.path.resultPaths : []).map((path) => r4Model().path2Type[path] ?? (path.includes('.') ? undefined : path));
    implied = types.length > 0 && types.every((type) => type !== undefined && PRIMITIVE.test(type));
    cache.set(key, implied);
  }
  return implied;
}
