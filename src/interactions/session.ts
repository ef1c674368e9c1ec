import type { StoreReader, StoreTransaction } from '../store/types.js';
import type { InteractionContext } from './types.js';

/** Runs write work in the enclosing transaction (a transaction Bundle) or in a new one. */
export function inTransaction<T>(ctx: InteractionContext, work: (tx: StoreTransaction) => Promise<T>): Promise<T> {
  return ctx.tx ? work(ctx.tx) : ctx.store.transaction(work, { small: true });
}

/** Where reads go: the enclosing transaction, so it sees its own writes, the request's snapshot, or the store. */
export function reader(ctx: InteractionContext): StoreReader {
  return ctx.tx ?? ctx.snapshot ?? ctx.store;
}
