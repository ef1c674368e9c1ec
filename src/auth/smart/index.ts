import type { AccessTarget, Authorizer, Decision, Interaction, Principal, ReachCondition } from '../types.js';
import { withinReach } from '../reach.js';
import { parseScopes, type Permission, type ResourceScope } from './scopes.js';

/** The SMART v2 permission each interaction needs (v1 read = rs, write = cud). */
const PERMISSION: Partial<Record<Interaction, Permission>> = {
  create: 'c',
  read: 'r',
  vread: 'r',
  'history-instance': 'r',
  update: 'u',
  patch: 'u',
  delete: 'd',
  'search-type': 's',
  'search-system': 's',
  'history-type': 's',
  'history-system': 's',
};

export interface SmartOptions {
  /** fhirUser types whose user/ scopes are not limited to resources that refer to them. */
  adminTypes: readonly string[];
}

/**
 * SMART scopes: the caller may do what one of its clinical scopes permits. patient/ scopes reach
 * the launch patient's compartment, user/ scopes the resources that refer to the fhirUser (all of
 * them for an admin type), system/ scopes everything; a v2 `?query` narrows any of these.
 */
export function createSmartAuthorizer(options: SmartOptions = { adminTypes: ['Practitioner'] }): Authorizer {
  const parsed = new WeakMap<Principal, ResourceScope[]>();
  const scopesOf = (principal: Principal) => {
    let scopes = parsed.get(principal);
    if (!scopes) parsed.set(principal, (scopes = parseScopes(principal.scopes)));
    return scopes;
  };
  return {
    authorize(principal, _request, target): Decision {
      const scopes = scopesOf(principal);
      if (target.interaction === 'capabilities') return { allowed: true };
      // A Bundle is an envelope: each of its entries is authorized on its own.
      if (target.interaction === 'transaction' || target.interaction === 'batch') {
        return scopes.length > 0 ? { allowed: true } : { allowed: false, reason: 'The token grants no clinical scopes' };
      }
      // $everything is a search across types: authorize.ts judges each type it returns as a search.
      if (target.interaction === 'operation' && target.operation === 'everything') {
        return scopes.some((scope) => scope.permissions.has('s')) ? { allowed: true } : { allowed: false, reason: 'No granted scope allows search' };
      }
      const permission = PERMISSION[target.interaction];
      if (!permission) return { allowed: false, reason: `No SMART scope grants ${target.interaction}` };
      const alternatives: ReachCondition[][] = [];
      for (const scope of scopes) {
        if (!scope.permissions.has(permission) || !typeCovered(scope, target)) continue;
        const conditions = contextConditions(scope, principal, options);
        if (!conditions) continue;
        if (scope.query) conditions.push({ kind: 'matches', query: scope.query });
        if (conditions.length === 0) return { allowed: true };
        alternatives.push(conditions);
      }
      if (alternatives.length > 0) return { allowed: true, reach: alternatives };
      const what = target.resourceType ? `${target.interaction} on ${target.resourceType}` : target.interaction;
      return { allowed: false, reason: `No granted scope allows ${what}` };
    },
    allowResource(_principal, resource, decision, baseUrl, registry) {
      return withinReach(decision.reach, resource, baseUrl, registry);
    },
  };
}

/** A system-level interaction needs a scope on every type ('*'). */
function typeCovered(scope: ResourceScope, target: AccessTarget): boolean {
  return scope.resourceType === '*' || scope.resourceType === target.resourceType;
}

/** The conditions a scope's context imposes, or undefined when the token lacks the context it needs. */
function contextConditions(scope: ResourceScope, principal: Principal, options: SmartOptions): ReachCondition[] | undefined {
  switch (scope.context) {
    case 'system':
      return [];
    case 'patient':
      return principal.patient ? [{ kind: 'compartment', compartment: 'Patient', id: principal.patient }] : undefined;
    case 'user': {
      if (!principal.fhirUser) return undefined;
      const type = principal.fhirUser.split('/')[0];
      return options.adminTypes.includes(type) ? [] : [{ kind: 'references', reference: principal.fhirUser }];
    }
  }
}
