// The SQLite writer's queue of full-text writes (src/store/sqlite/full-text-queue.ts) follows savepoints.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FullTextQueue } from '../../src/store/sqlite/full-text-queue.js';

test('applies in order; a rollback drops what was queued since and queues again what it undid', () => {
  const queue = new FullTextQueue('t');
  const applied: string[] = [];
  const apply = () => queue.apply((s) => applied.push(String(s.params[0])));
  assert.ok(queue.writes('INSERT INTO t (rowid, words) VALUES (?, ?)'));
  assert.ok(queue.writes('DELETE FROM t WHERE rowid IN (?)'));
  assert.ok(!queue.writes('SELECT rowid FROM t WHERE t MATCH ?'));
  assert.ok(queue.touches('SELECT rowid FROM t WHERE t MATCH ?'));
  assert.ok(!queue.follow('INSERT INTO x VALUES (1)'));

  queue.queue('INSERT', ['a']);
  assert.ok(queue.follow('SAVEPOINT unit'));
  queue.queue('INSERT', ['b']);
  apply(); // a read inside the savepoint applies a and b
  assert.deepEqual(applied.splice(0), ['a', 'b']);
  queue.follow('SAVEPOINT inner');
  queue.queue('INSERT', ['c']);
  queue.follow('ROLLBACK TO SAVEPOINT unit'); // undoes a and b in the database, drops b and c
  queue.follow('RELEASE unit');
  apply();
  assert.deepEqual(applied.splice(0), ['a']);
  queue.follow('SAVEPOINT unit');
  queue.queue('INSERT', ['d']);
  queue.follow('RELEASE unit');
  apply();
  assert.deepEqual(applied.splice(0), ['d']);
});
