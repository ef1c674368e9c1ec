import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeyConfig } from '../config/types.js';

/** The hex SHA-256 of an API key: what the configuration stores. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * The configured key a presented `x-api-key` matches, if any. Every configured hash is compared
 * in constant time, and all of them are compared, so timing tells nothing about which one is near.
 */
export function matchApiKey(keys: readonly ApiKeyConfig[], presented: string | undefined): ApiKeyConfig | undefined {
  if (!presented) return undefined;
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let found: ApiKeyConfig | undefined;
  for (const key of keys) {
    const expected = Buffer.from(key.sha256, 'hex');
    if (expected.length === digest.length && timingSafeEqual(expected, digest) && !found) found = key;
  }
  return found;
}
