import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { openConnection, SqliteExecutor } from './connection.js';
import { WriteSession } from './write-session.js';
import { THREAD_ENDED, THREAD_FAILED, TO_CALLER, TO_THREAD, toWire, type WriterMessage, type WriterNotice, type WriterReply } from './writer-thread.js';

/**
 * The writer thread's side (started by WriterThread): the database file's writer connection,
 * running the units' statements in the order sent, answering those awaited, and committing
 * whenever it has caught up between two units. It sleeps on the shared signal between messages,
 * never on an event loop.
 */

/** Most units in one transaction: their callers wait for its commit. */
const MAX_GROUP = 64;

const { file, port, signal } = workerData as { file: string; port: MessagePort; signal: Int32Array };

/** Statement texts by the number the server's thread gave them (WriterMessage 'name'). */
const named: string[] = [];

/** The transaction in progress: its units' ids in order, whether one is running, its journal mode. */
let group: { ids: number[]; inUnit: boolean; small: boolean } | undefined;

function reply(id: number, step: () => unknown): WriterReply {
  try {
    return { id, value: step() };
  } catch (error) {
    return { id, error: toWire(error) };
  }
}

/** Answers a caller blocked on the signal. */
function answer(id: number, step: () => unknown): void {
  port.postMessage(reply(id, step));
  Atomics.add(signal, TO_CALLER, 1);
  Atomics.notify(signal, TO_CALLER);
}

function notify(notice: WriterNotice): void {
  parentPort!.postMessage(notice);
}

function commit(session: WriteSession): void {
  if (!group) return;
  const ids = group.ids;
  group = undefined;
  try {
    notify({ committed: ids, failures: session.commit().map(({ unit, error }) => ({ unit: ids[unit], error: toWire(error) })) });
  } catch (error) {
    notify({ committed: ids, failures: [], error: toWire(error) });
  }
}

/** Runs a batch of messages; false once told to close. */
function run(session: WriteSession, messages: WriterMessage[]): boolean {
  for (const message of messages) {
    switch (message[0]) {
      case 'start': {
        const small = message[2];
        // A large unit after small ones (or the reverse) starts a transaction of its own journal mode.
        if (group && group.small !== small) commit(session);
        if (!group) {
          session.begin(small);
          group = { ids: [], inUnit: false, small };
        }
        group.ids.push(message[1]);
        group.inUnit = true;
        session.startUnit();
        break;
      }
      case 'end':
        session.endUnit(message[2]);
        group!.inUnit = false;
        if (group!.ids.length >= MAX_GROUP) commit(session);
        break;
      case 'name':
        named[message[1]] = message[2];
        break;
      case 'post':
        session.post(typeof message[1] === 'number' ? named[message[1]] : message[1], message[2], message[3]);
        break;
      case 'query':
        answer(message[1], () => session.query(message[2], message[3]));
        break;
      case 'execute':
        answer(message[1], () => session.execute(message[2], message[3]));
        break;
      case 'close':
        commit(session);
        session.executor.connection.close();
        notify({ closed: message[1] });
        return false;
    }
  }
  return true;
}

try {
  const session = new WriteSession(new SqliteExecutor(openConnection(file, false)));
  for (let open = true; open; ) {
    const seen = Atomics.load(signal, TO_THREAD);
    const received = receiveMessageOnPort(port);
    if (received) open = run(session, received.message as WriterMessage[]);
    // Caught up between two units: commit what there is. Callers wait for the commit: a thread
    // that keeps up commits every unit, one that falls behind commits ever larger groups.
    else if (group && !group.inUnit) commit(session);
    else Atomics.wait(signal, TO_THREAD, seen);
  }
} catch (error) {
  // The database could not be opened, or the thread itself failed: callers learn why.
  port.postMessage({ id: THREAD_FAILED, error: toWire(error) } satisfies WriterReply);
  throw error;
} finally {
  Atomics.store(signal, THREAD_ENDED, 1);
  Atomics.notify(signal, TO_CALLER);
  port.close();
}
