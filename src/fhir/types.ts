/** A FHIR resource as parsed JSON. Kiln never re-models resources into classes. */
export interface Resource {
  resourceType: string;
  id?: string;
  meta?: Meta;
  [element: string]: unknown;
}

export interface Meta {
  versionId?: string;
  lastUpdated?: string;
  source?: string;
  profile?: string[];
  security?: Coding[];
  tag?: Coding[];
  [element: string]: unknown;
}

export interface Coding {
  system?: string;
  version?: string;
  code?: string;
  display?: string;
  userSelected?: boolean;
}

export interface Bundle extends Resource {
  resourceType: 'Bundle';
  type: string;
  total?: number;
  link?: { relation: string; url: string }[];
  entry?: BundleEntry[];
}

export interface BundleEntry {
  fullUrl?: string;
  resource?: Resource;
  search?: { mode?: 'match' | 'include' | 'outcome'; score?: number };
  request?: { method: string; url: string; ifNoneMatch?: string; ifModifiedSince?: string; ifMatch?: string; ifNoneExist?: string };
  response?: { status: string; location?: string; etag?: string; lastModified?: string; outcome?: Resource };
  [element: string]: unknown;
}

export type FhirVersion = '4.0.1' | '3.0.2';

/** FHIR logical ids: http://hl7.org/fhir/R4/datatypes.html#id */
export const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}
