import { FhirError, isFhirError, type Issue } from './errors.js';
import type { Resource } from './types.js';

export interface OperationOutcome extends Resource {
  resourceType: 'OperationOutcome';
  issue: Issue[];
}

export function operationOutcome(issues: Issue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

export function informational(diagnostics: string): OperationOutcome {
  return operationOutcome([{ severity: 'information', code: 'informational', diagnostics }]);
}

/**
 * The single place that turns any thrown value into a status and an OperationOutcome. Unknown
 * errors become a 500 whose text never carries the original message or stack.
 */
export function outcomeForError(error: unknown): { status: number; outcome: OperationOutcome; headers: Record<string, string> } {
  if (isFhirError(error)) {
    return { status: error.status, outcome: operationOutcome(error.issues), headers: error.headers };
  }
  const internal = new FhirError('internal', 'Internal server error');
  return { status: internal.status, outcome: operationOutcome(internal.issues), headers: {} };
}
