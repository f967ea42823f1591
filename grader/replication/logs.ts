// A replica's data directory as the checker reads it at the end of a test (labs 6 and 7): the
// snapshot, if there is one (lab 7 compacts: spec/07-consensus.md, section 10), and the log's
// records after it, read with lab 5's reader. Records are found by their index.
import path from 'node:path';
import { readLogBytes, readSnapshot, type Rec } from '../../labs/05-persistence/tests/logfile.js';
import type { ValueMap } from '../../labs/03-protocol/tests/wire.js';
import { readDataFileIfAny } from '../harness/datafiles.js';

/** One replica's log as it was at the end. */
export interface ReplicaLog {
  id: number;
  /** The snapshot's index; 0 without a snapshot. */
  base: bigint;
  snapshot?: ValueMap;
  /** The log's records after the snapshot, in order: indexes base + 1, base + 2, ... */
  records: Rec[];
  /** The log file's bytes. */
  bytes: Buffer;
}

/** A message the snapshot still holds: queued for `to`, with its id (the index of its record). */
export interface QueuedMessage {
  id: bigint;
  to: string;
  from: string;
  text: string;
}

export function readReplicaLog(id: number, dir: string): ReplicaLog {
  const file = path.join(dir, 'log');
  const bytes = readDataFileIfAny(file) ?? Buffer.alloc(0);
  const snapshot = readSnapshot(dir);
  const base = snapshot?.index ?? 0n;
  // A crash between the two halves of a compaction leaves records the snapshot holds already.
  const records = readLogBytes(bytes, `replica ${id}'s log`).records.filter((r) => r.index > base);
  return { id, base, snapshot: snapshot?.payload, records, bytes };
}

/** The last index the replica holds. */
export function lastIndex(log: ReplicaLog): bigint {
  return log.base + BigInt(log.records.length);
}

/** Record `index` of the log, if it is there (not in the snapshot, not past the end). */
export function recordAt(log: ReplicaLog, index: bigint): Rec | undefined {
  const record = index > log.base ? log.records[Number(index - log.base) - 1] : undefined;
  return record?.index === index ? record : undefined;
}

export function recordBytes(log: ReplicaLog, record: Rec): Buffer {
  return log.bytes.subarray(record.offset, record.end);
}

/** The messages the snapshot holds, queued for their recipients (spec/05-persistence.md, section 9). */
export function queuedInSnapshot(log: ReplicaLog): QueuedMessage[] {
  const accounts = log.snapshot?.get('accounts');
  if (!Array.isArray(accounts)) return [];
  const out: QueuedMessage[] = [];
  for (const account of accounts) {
    if (!(account instanceof Map)) continue;
    const to = account.get('name');
    const queue = account.get('queue');
    if (typeof to !== 'string' || !Array.isArray(queue)) continue;
    for (const m of queue) {
      if (!(m instanceof Map)) continue;
      const id = m.get('id');
      const text = m.get('text');
      const from = m.get('from');
      if (typeof id === 'bigint' && typeof text === 'string' && typeof from === 'string') out.push({ id, to, from, text });
    }
  }
  return out;
}
