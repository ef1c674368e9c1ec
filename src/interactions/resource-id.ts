import { randomFillSync } from 'node:crypto';

/**
 * Ids for new resources: UUIDs of version 7 (RFC 9562), which begin with the creation time in
 * milliseconds, then a counter within the millisecond, then 62 random bits. A store's indexes
 * by id then receive new ids at their end instead of at random places: fewer index pages
 * changed, and written to the WAL, per create. The time of creation is visible in the id (as
 * `meta.lastUpdated` shows it anyway); the random bits keep ids unguessable.
 */

let lastMs = 0;
let counter = 0;

/** Random bytes drawn ahead, 8 per id: one call to the CSPRNG per 1,024 ids instead of one per id. */
const pool = Buffer.alloc(8 * 1024);
let poolUsed = pool.length;

export function timeOrderedUuid(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    counter = 0;
  } else if (++counter > 0xfff) {
    // 4,096 ids in one millisecond: borrow the next one, keeping ids in order.
    lastMs++;
    counter = 0;
  }
  if (poolUsed === pool.length) {
    randomFillSync(pool);
    poolUsed = 0;
  }
  const bytes = Buffer.allocUnsafe(16);
  pool.copy(bytes, 8, poolUsed, poolUsed + 8);
  poolUsed += 8;
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
