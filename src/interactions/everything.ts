// Patient/$everything: https://hl7.org/fhir/R4/patient-operation-everything.html
// The patient and every resource in its compartment (or, at type level, all patients and their
// compartments), as a paged searchset. Supported parameters: _type, _count, _since is not.
import { notFound, notSupported } from '../fhir/errors.js';
import { compartmentParams } from '../search/compartments.js';
import type { ParsedSearch } from '../search/parse.js';
import { parseRequestSearch } from './search-request.js';
import { runPage, searchsetJson } from './search.js';
import { reader } from './session.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './types.js';

const ACCEPTED = new Set(['_type', '_count', '_format', '_pretty', '_elements', '_summary']);

export async function everything(ctx: InteractionContext, request: FhirRequest, resourceType: string, id?: string): Promise<FhirResponse> {
  const params = compartmentParams(resourceType);
  if (!params) throw notSupported(`$everything is only supported on Patient`);
  if (id !== undefined) {
    const owner = await reader(ctx).readCurrent(request.tenant, resourceType, id);
    if (!owner || owner.deleted) throw notFound(`${resourceType}/${id} is not known`);
  }
  const query = request.query.filter(([name]) => name !== '_cursor');
  const parsed: ParsedSearch = parseRequestSearch(ctx.searchParameters, request, query.filter(([name]) => ACCEPTED.has(name)), undefined, false);
  for (const [name] of query) if (!ACCEPTED.has(name)) parsed.unknown.push({ name, reason: `Parameter '${name}' is not supported by $everything` });
  const allTypes = [resourceType, ...[...params.keys()].filter((t) => t !== resourceType)];
  if (parsed.types.length === 0) parsed.types = allTypes;
  else parsed.types = parsed.types.filter((t) => allTypes.includes(t));
  if (parsed.types.length === 0) parsed.types = ['__none__'];
  const page = await runPage(ctx, request, parsed, { type: resourceType, ...(id !== undefined ? { id } : {}), params, includeSelf: true });
  const path = id === undefined ? `${resourceType}/$everything` : `${resourceType}/${id}/$everything`;
  return { status: 200, json: searchsetJson(request, path, query, parsed, page) };
}
