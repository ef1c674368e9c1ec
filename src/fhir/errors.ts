/**
 * Typed errors raised below the HTTP edge. Only server/ (and bundle processing) turns them into
 * an HTTP status and an OperationOutcome, through `outcomeForError` in fhir/operation-outcome.ts.
 */
export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';

/** Codes from http://hl7.org/fhir/R4/valueset-issue-type.html used by Kiln. */
export type IssueCode =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'invariant'
  | 'security'
  | 'login'
  | 'forbidden'
  | 'processing'
  | 'not-supported'
  | 'duplicate'
  | 'multiple-matches'
  | 'not-found'
  | 'deleted'
  | 'too-long'
  | 'code-invalid'
  | 'conflict'
  | 'exception'
  | 'timeout'
  | 'throttled'
  | 'informational'
  | 'transient';

export interface Issue {
  severity: IssueSeverity;
  code: IssueCode;
  diagnostics: string;
  /** FHIRPath-like element paths, e.g. `Patient.name[0].given`. */
  expression?: string[];
}

/** The error categories and the HTTP status each maps to. */
export const errorStatus = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'not-acceptable': 406,
  conflict: 409,
  gone: 410,
  'precondition-failed': 412,
  'too-large': 413,
  'unsupported-media-type': 415,
  unprocessable: 422,
  'too-many-requests': 429,
  internal: 500,
  'not-implemented': 501,
  unavailable: 503,
} as const;

export type ErrorCategory = keyof typeof errorStatus;

const defaultIssueCode: Record<ErrorCategory, IssueCode> = {
  invalid: 'invalid',
  unauthorized: 'login',
  forbidden: 'forbidden',
  'not-found': 'not-found',
  'method-not-allowed': 'not-supported',
  'not-acceptable': 'not-supported',
  conflict: 'conflict',
  gone: 'deleted',
  'precondition-failed': 'conflict',
  'too-large': 'too-long',
  'unsupported-media-type': 'not-supported',
  unprocessable: 'processing',
  'too-many-requests': 'throttled',
  internal: 'exception',
  'not-implemented': 'not-supported',
  unavailable: 'transient',
};

export class FhirError extends Error {
  readonly category: ErrorCategory;
  readonly issues: Issue[];
  /** Extra response headers (e.g. `WWW-Authenticate`, `Retry-After`, `ETag` for a 410). */
  readonly headers: Record<string, string>;

  constructor(category: ErrorCategory, message: string, options: { issues?: Issue[]; headers?: Record<string, string>; code?: IssueCode } = {}) {
    super(message);
    this.name = 'FhirError';
    this.category = category;
    this.issues = options.issues ?? [
      { severity: category === 'internal' ? 'fatal' : 'error', code: options.code ?? defaultIssueCode[category], diagnostics: message },
    ];
    this.headers = options.headers ?? {};
  }

  get status(): number {
    return errorStatus[this.category];
  }
}

export const invalid = (message: string, expression?: string[], code: IssueCode = 'invalid') =>
  new FhirError('invalid', message, { issues: [{ severity: 'error', code, diagnostics: message, ...(expression ? { expression } : {}) }] });
export const notFound = (message: string) => new FhirError('not-found', message);
export const gone = (message: string, headers?: Record<string, string>) => new FhirError('gone', message, { headers });
export const conflict = (message: string) => new FhirError('conflict', message);
export const preconditionFailed = (message: string) => new FhirError('precondition-failed', message);
export const forbidden = (message: string) => new FhirError('forbidden', message);
export const unprocessable = (message: string, expression?: string[]) =>
  new FhirError('unprocessable', message, { issues: [{ severity: 'error', code: 'processing', diagnostics: message, ...(expression ? { expression } : {}) }] });
export const notSupported = (message: string) => new FhirError('not-implemented', message);
export const tooLarge = (message: string) => new FhirError('too-large', message);

export function isFhirError(error: unknown): error is FhirError {
  return error instanceof FhirError;
}
