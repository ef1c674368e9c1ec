import { invalid, preconditionFailed } from '../fhir/errors.js';
import type { StoredVersion } from '../store/types.js';

/** The version in an ETag such as `W/"3"` (weak or strong, quoted or not). */
export function versionFromETag(header: string): string {
  const match = /^\s*(?:W\/)?"?([^"\s]+)"?\s*$/.exec(header);
  if (!match) throw invalid(`Invalid ETag '${header}'`);
  return match[1];
}

export function etag(versionId: string): string {
  return `W/"${versionId}"`;
}

/** http.html#concurrency: If-Match must name the current version, else 412. */
export function checkIfMatch(ifMatch: string | undefined, current: StoredVersion | undefined): void {
  if (ifMatch === undefined) return;
  const wanted = versionFromETag(ifMatch);
  if (!current || current.deleted) {
    throw preconditionFailed(`If-Match ${ifMatch} given, but the resource does not exist`);
  }
  if (wanted !== current.versionId) {
    throw preconditionFailed(`Version conflict: If-Match ${ifMatch}, but the current version is ${current.versionId}`);
  }
}

/** If-None-Match / If-Modified-Since on read: true when the client's copy is still current. */
export function notModified(headers: { 'if-none-match'?: string; 'if-modified-since'?: string }, current: StoredVersion): boolean {
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || versionFromETagOrNull(tag) === current.versionId);
  }
  const ifModifiedSince = headers['if-modified-since'];
  if (ifModifiedSince !== undefined) {
    const since = Date.parse(ifModifiedSince);
    // HTTP dates have one-second precision.
    return !Number.isNaN(since) && Math.floor(Date.parse(current.lastUpdated) / 1000) * 1000 <= since;
  }
  return false;
}

function versionFromETagOrNull(tag: string): string | null {
  try {
    return versionFromETag(tag);
  } catch {
    return null;
  }
}
