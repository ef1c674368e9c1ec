import type { RbacRule } from '../../config/types.js';

/** The financial resource types the seed's non-practitioner group could read and search. */
export const FINANCIAL_TYPES = [
  'Coverage',
  'CoverageEligibilityRequest',
  'CoverageEligibilityResponse',
  'EnrollmentRequest',
  'EnrollmentResponse',
  'Claim',
  'ClaimResponse',
  'Invoice',
  'PaymentNotice',
  'PaymentReconciliation',
  'Account',
  'ChargeItem',
  'ChargeItemDefinition',
  'Contract',
  'ExplanationOfBenefit',
  'InsurancePlan',
];

/**
 * The seed's groups. Patch and batch were not separate verbs there (patch was an update, batch a
 * bundle like transaction), so the practitioner group has them too.
 */
export function defaultRbacGroups(): Record<string, RbacRule[]> {
  return {
    practitioner: [
      { interactions: ['create', 'read', 'vread', 'update', 'patch', 'delete', 'search', 'history', 'transaction', 'batch'], resourceTypes: ['*'] },
    ],
    'non-practitioner': [{ interactions: ['read', 'vread', 'search'], resourceTypes: FINANCIAL_TYPES }],
    auditor: [{ interactions: ['read', 'vread', 'search'], resourceTypes: ['Patient'] }],
  };
}
