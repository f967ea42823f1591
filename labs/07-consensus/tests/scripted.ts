// Lab 6's scripted replicas (labs/06-replication/tests/scripted.ts) with terms: the grader's
// replicas send HEARTBEATs with a term and a primary, and your replica's directory gets a log of
// records with terms and a `term` file. So a test can require, message by message, what
// spec/07-consensus.md requires (one vote per term, the check on the previous entry, the commit
// rule).
import path from 'node:path';
import type { Harness } from '../../../grader/harness/index.js';
import { writeDataFile } from '../../../grader/harness/datafiles.js';
import { GraderReplica as Lab6Replica, Scripted as Lab6Scripted } from '../../06-replication/tests/scripted.js';
import { T7, typeName7, type LogEntry } from './wire.js';

export type { Received } from '../../06-replication/tests/scripted.js';

/** One replica the grader plays, with a term. */
export class GraderReplica extends Lab6Replica {
  /** The term and primary its HEARTBEATs carry. */
  term = 0n;
  primary = 0;

  /** A HEARTBEAT every `ms`, saying it hears `hears` (your replica, so that it counts this one reachable). */
  heartbeats(ms: number, hears: number[]): void {
    this.repeat(ms, () => [T7.HEARTBEAT, { from: BigInt(this.id), term: this.term, primary: BigInt(this.primary), alive: hears.map(BigInt) }]);
  }

  stopHeartbeats(): void {
    this.stopRepeating();
  }
}

/** Your replica 1 among grader replicas 2 to N, in lab 7. */
export class Scripted extends Lab6Scripted<GraderReplica> {
  static override async create(h: Harness, size: number, dir = 'replica-1'): Promise<Scripted> {
    const s = new Scripted(h, size);
    return s.open(dir, (id) => new GraderReplica(h, id, () => s.yours, typeName7));
  }

  /** Writes your replica's log and `term` file, as if it had run before. */
  prepare(entries: LogEntry[], term: bigint, votedFor = 0): void {
    this.writeLog(entries);
    writeDataFile(path.join(this.dir, 'term'), `${term} ${votedFor}\n`);
    this.h.note(`the grader wrote replica 1's log (${entries.length} records, terms ${entries.map((e) => e.record.get('term')).join(', ')}) and its term file ("${term} ${votedFor}")`);
  }
}
