// Steps lab 7's tests share: a cluster with lab 7's rules checked (grader/replication, shared with
// lab 6), the grader's timing, records with terms for the logs the grader writes, STATUS of one
// replica, and single SENDs the checker sees like a writer's.
import type { Harness, Proc } from '../../../grader/harness/index.js';
import { GradeFailure } from '../../../grader/harness/index.js';
import { scaled, seconds } from '../../../grader/harness/wait.js';
import { Cluster, type ClusterOptions } from '../../../grader/replication/cluster.js';
import type { Op, ReplicaStatus } from '../../../grader/replication/history.js';
import { readReplicaLog } from '../../../grader/replication/logs.js';
import { Peer } from '../../03-protocol/tests/peer.js';
import { parseStatus, describeStatus } from '../../06-replication/tests/wire.js';
import { Scripted } from './scripted.js';
import { R7, T, T6, T7, entry, map, show, type LogEntry } from './wire.js';

export { Cluster } from '../../../grader/replication/cluster.js';
export { Writer } from '../../../grader/replication/writer.js';
export { Peer, createAccount, login, sendMessage } from '../../03-protocol/tests/peer.js';
export { loggedIn, loggedInAnyCount, makeAccounts, peerOn } from '../../06-replication/tests/replicated.js';

/** The grader's timing (spec section 15): H and T before SWITCHBOARD_TIME_SCALE. */
export const heartbeatMs = 100;
export const timeoutMs = 1_000;

export async function newCluster(h: Harness, size: number, options: Omit<ClusterOptions, 'size'> = {}): Promise<Cluster> {
  return Cluster.start(h, { size, heartbeatMs, timeoutMs, consensus: true, ...options });
}

// ---- Records the grader writes into a replica's log (spec section 4: every record has a term).

const password = 'made by the grader: no password matches it';

export const account = (index: number, term: number, name: string): LogEntry => entry(R7.ACCOUNT_CREATED, { index: BigInt(index), term: BigInt(term), name, password });
export const sent = (index: number, term: number, text: string, from = 'alice', to = 'bob'): LogEntry => entry(R7.MESSAGE_SENT, { index: BigInt(index), term: BigInt(term), from, to, text });
export const started = (index: number, term: number, primary: number): LogEntry => entry(R7.TERM_STARTED, { index: BigInt(index), term: BigInt(term), primary: BigInt(primary) });

// ---- STATUS of one replica, on a connection of its own.

export async function statusOf(h: Harness, proc: Proc, peer?: Peer): Promise<ReplicaStatus> {
  const conn = peer ?? (await Peer.connect(h, proc, { name: `STATUS of ${proc.name}` }));
  conn.send(T6.STATUS, map());
  const frame = await conn.readReply(`REPLICA_STATE from ${proc.name}`);
  const value = conn.decode(frame, 'REPLICA_STATE');
  const status = parseStatus(value);
  if (typeof status === 'string') throw new GradeFailure(`${proc.name} answered STATUS wrongly: ${status} (spec section 11)`);
  const term = value instanceof Map ? value.get('term') : undefined;
  if (typeof term !== 'bigint') throw new GradeFailure(`${proc.name} answered STATUS with ${show(value)}: lab 7's REPLICA_STATE has an int "term" (spec section 11)`);
  if (!peer) conn.conn.destroy();
  return { ...status, term: Number(term) };
}

/** Polls one replica's STATUS until `check` accepts it. */
export async function untilStatus(h: Harness, proc: Proc, check: (s: ReplicaStatus) => boolean, what: string, timeoutMs = 10_000): Promise<ReplicaStatus> {
  const wait = scaled(timeoutMs);
  const end = Date.now() + wait;
  const peer = await Peer.connect(h, proc, { name: `STATUS of ${proc.name}` });
  let last: ReplicaStatus | undefined;
  try {
    for (;;) {
      last = await statusOf(h, proc, peer);
      if (check(last)) return last;
      if (Date.now() > end) throw new GradeFailure(`the grader waited ${seconds(wait)} for ${what}; ${proc.name}'s last STATUS: ${describeStatus(last)}, term ${last.term}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    peer.conn.destroy();
  }
}

/** Requires, for `ms`, that every STATUS of the replica passes `check`. */
export async function alwaysStatus(h: Harness, proc: Proc, check: (s: ReplicaStatus) => string | undefined, ms: number): Promise<void> {
  const end = Date.now() + ms;
  const peer = await Peer.connect(h, proc, { name: `STATUS of ${proc.name}` });
  try {
    while (Date.now() < end) {
      const status = await statusOf(h, proc, peer);
      const wrong = check(status);
      if (wrong) throw new GradeFailure(wrong);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    peer.conn.destroy();
  }
}

// ---- Single SENDs, kept in the cluster's history so that the checker holds the replicas to them.

/** A SEND on `peer`, logged in as `writer`, to replica `replica`; the history learns of it and of its SENT. */
export function trackedSend(cluster: Cluster, peer: Peer, replica: number, writer: string, text: string, to = 'inbox'): Op {
  const op = cluster.history.op(writer, 0n, cluster.history.ops.filter((o) => o.writer === writer).length + 1, to, 1);
  op.text = text;
  cluster.history.sent(op, replica, false);
  peer.send(T.SEND, map({ to, text }));
  return op;
}

/** The SENT for `op`: its id, noted in the history as acknowledged by `replica`. */
export async function ackOf(cluster: Cluster, peer: Peer, op: Op, replica: number, what: string): Promise<bigint> {
  const frame = await peer.readReply(what, { timeoutMs: 15_000 });
  const value = peer.decode(frame, what);
  const id = value instanceof Map ? value.get('id') : undefined;
  if (frame.type !== BigInt(T.SENT) || typeof id !== 'bigint') throw new GradeFailure(`${peer.name} expected ${what}: SENT {id}; got ${peer.describe(frame)}`);
  cluster.history.acked(op, id, replica);
  return id;
}

/** No replica's final log may hold these texts: they were never acknowledged and never sent again. */
export function expectGone(cluster: Cluster, texts: string[]): void {
  for (const m of cluster.members) {
    for (const record of readReplicaLog(m.id, m.dir).records) {
      const text = record.payload.get('text');
      if (typeof text === 'string' && texts.includes(text)) {
        throw new GradeFailure(`replica ${m.id}'s log still holds ${JSON.stringify(text)} at record ${record.index}: a primary cut off from the majority appended it, nobody acknowledged it, and the new primary's log replaces it once the network heals (spec section 7)`);
      }
    }
  }
}

/**
 * A scripted cluster of `size` (tests/scripted.ts) in which your replica, replica 1, holds records
 * 1 (term 1) and 2 (term 2) in term 2 and knows no primary, while the grader's replicas only say
 * they are alive: T ms after it starts, it sends its token to replica 2. Returns once it has. T is
 * 4 s, longer than usual: a vote round lasts T, and the tests that use this take their time in one.
 */
export async function candidateAmong(h: Harness, size: number): Promise<Scripted> {
  const s = await Scripted.create(h, size);
  s.prepare([account(1, 1, 'alice'), account(2, 2, 'bob')], 2n);
  for (const r of s.others) r.term = 2n;
  const roundMs = 4_000;
  await s.start({ heartbeatMs: scaled(heartbeatMs), timeoutMs: scaled(roundMs) });
  for (const r of s.others) r.heartbeats(scaled(heartbeatMs), [1]);
  await s.replica(2).expect(T7.ELECTION, 'your replica\'s token, T ms after it started with no primary (spec section 6)', (v) => v.get('candidate') === 1n, roundMs * 3 + 5_000);
  return s;
}
