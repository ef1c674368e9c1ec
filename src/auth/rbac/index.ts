import type { RbacRule } from '../../config/types.js';
import type { AccessTarget, Authorizer, Interaction } from '../types.js';
import { defaultRbacGroups } from './defaults.js';

/** The RBAC verb each FHIR interaction needs. */
const VERB: Record<Interaction, string> = {
  read: 'read',
  vread: 'vread',
  update: 'update',
  patch: 'patch',
  delete: 'delete',
  create: 'create',
  'history-instance': 'history',
  'history-type': 'history',
  'history-system': 'history',
  'search-type': 'search',
  'search-system': 'search',
  transaction: 'transaction',
  batch: 'batch',
  capabilities: 'capabilities',
  operation: 'operation',
};

/**
 * Role-based access: a caller may do what any rule of any of its groups allows. A system-level
 * interaction (no resource type) needs a rule for every type ('*'). Group rules never restrict
 * which resources of a type are reachable, so decisions carry no reach.
 */
export function createRbacAuthorizer(groups: Record<string, RbacRule[]> = defaultRbacGroups()): Authorizer {
  const permits = (rule: RbacRule, target: AccessTarget): boolean => {
    const verb = VERB[target.interaction];
    if (!rule.interactions.includes(verb) && !rule.interactions.includes('*')) return false;
    if (rule.resourceTypes.includes('*')) return true;
    return target.resourceType !== undefined && rule.resourceTypes.includes(target.resourceType);
  };
  return {
    authorize(principal, _request, target) {
      if (target.interaction === 'capabilities') return { allowed: true };
      const allowed = principal.groups.some((group) => (Object.hasOwn(groups, group) ? groups[group] : []).some((rule) => permits(rule, target)));
      if (allowed) return { allowed: true };
      const what = target.resourceType ? `${target.interaction} on ${target.resourceType}` : target.interaction;
      return { allowed: false, reason: `None of the caller's groups allows ${what}` };
    },
    allowResource: () => true,
  };
}
