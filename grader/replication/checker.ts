// The checker of a replicated cluster's history (spec/06-replication.md, section 13, and
// spec/07-consensus.md, section 15). Given what the grader saw (History) and every replica's data
// directory at the end, it proves the rules or fails with the first one broken, naming the rule,
// the client, seq, index and replicas involved, and the smallest excerpt of history that shows it.
//
// Lab 6 (crashes only), in this order:
//   1. never two primaries at once, as far as STATUS shows;
//   2. one history up to the commit index: every replica's log, up to the highest commit index it
//      reported, is the log of the replica that reported the highest commit index;
//   3. no acknowledged message lost: a SENT {id} means that message is record `id`;
//   4. none applied twice: each text (unique) is in one record at most;
//   5. each sender's order kept: a client's messages appear in seq order with no gap.
//
// Lab 7 (pauses and partitions: two replicas may both believe they are the primary, of different
// terms), in this order:
//   1. no acknowledged message lost;
//   2. the committed prefix never changes: a record a primary showed committed (its APPENDs'
//      entries and commit index, seen by the proxies) is the record at that index ever after, in
//      every primary's APPENDs and every replica's log up to the commit index it reported;
//   3. at most one primary per term, from STATUS and from the APPENDs, snapshots and ELECTEDs the
//      proxies carried;
//   4. at most one vote per replica per term, from the VOTEs the proxies carried;
//   5. a backup keeps what it acknowledged: no MISMATCH, in a term, for a record it acknowledged
//      to that term's primary (its log or its digests changed);
//   6. a snapshot ends at a record of the log: its term is that record's term, and its digest the
//      log's digest there, as far as the committed records the grader saw (or, for the term, the
//      log of a replica that reported that record committed) tell;
//   7. to 9. lab 6's rules 2, 4 and 5.
// Records are found by index, so a log that starts after a snapshot is read as it is.
import { GradeFailure } from '../harness/wait.js';
import { show } from '../../labs/03-protocol/tests/wire.js';
import { R, recordName, type Rec } from '../../labs/05-persistence/tests/logfile.js';
import { describeEvent, type CommittedRecord, type Event, type History, type Op } from './history.js';
import { lastIndex, queuedInSnapshot, recordAt, recordBytes, type ReplicaLog } from './logs.js';
import { nextDigest } from '../../labs/06-replication/tests/wire.js';
import type { ValueMap } from '../../labs/03-protocol/tests/wire.js';

export type { ReplicaLog } from './logs.js';

export interface CheckOptions {
  /** Lab 7's rules (terms), rather than lab 6's. */
  consensus?: boolean;
}

/** A message the committed log holds: a MESSAGE_SENT record, or one a snapshot keeps queued. */
interface Held {
  index: bigint;
  to: string;
  text: string;
}

export function checkHistory(history: History, logs: ReplicaLog[], options: CheckOptions = {}): void {
  if (!options.consensus) {
    onePrimary(history);
    const reference = oneHistory(history, logs);
    const held = heldMessages(history, reference);
    noneLost(history, reference, held);
    noneTwice(history, held);
    orderKept(history, held);
    return;
  }
  const reference = referenceLog(history, logs);
  const held = heldMessages(history, reference);
  noneLost(history, reference, held);
  prefixStable(history, logs);
  onePrimaryPerTerm(history);
  oneVotePerTerm(history);
  keptWhatItAcknowledged(history);
  snapshotsEndAtTheirRecord(history, logs);
  oneHistory(history, logs);
  noneTwice(history, held);
  orderKept(history, held);
}

const termOf = (payload: ValueMap) => (typeof payload.get('term') === 'bigint' ? (payload.get('term') as bigint) : 0n);

/**
 * Lab 7: a snapshot's term and digest are those of the record it ends at (spec/07-consensus.md,
 * section 10), checked against the records a primary showed committed (the proxies saw their
 * bytes), or, for the term, against the log of a replica that reported a commit index at or past
 * that record and still holds it.
 */
function snapshotsEndAtTheirRecord(history: History, logs: ReplicaLog[]): void {
  for (const log of logs) {
    if (!log.snapshot || log.base === 0n) continue;
    const at = log.base;
    const term = log.snapshot.get('term');
    const shown = history.committed.get(at);
    // Only a log whose replica reported a commit index at or past `at`: a replica that was away
    // may still hold a record there that was never committed.
    const holder = logs.find((other) => recordAt(other, at) && BigInt(commitOf(history, other)) >= at);
    const recordTerm = shown ? termOf(shown.payload) : holder ? termOf(recordAt(holder, at)!.payload) : undefined;
    const where = shown ? `replica ${shown.by}, primary of term ${shown.term}, showed record ${at} committed with term ${recordTerm}` : `replica ${holder?.id}'s log holds record ${at} with term ${recordTerm}`;
    if (recordTerm !== undefined && term !== recordTerm) {
      fail(
        'a snapshot ends at a record of the log',
        `Replica ${log.id}'s snapshot ends at record ${at} and says term ${String(term)}, but ${where}. A snapshot's term is the term of its last record, not the replica's current term: with no record after it, it is the log's last term, which votes and tokens compare (spec/07-consensus.md, sections 3 and 10).`,
        excerpt(history, { replicas: [log.id], max: 8 }),
      );
    }
    const digest = committedDigest(history, at);
    if (digest !== undefined && log.snapshot.get('digest') !== digest) {
      fail(
        'a snapshot ends at a record of the log',
        `Replica ${log.id}'s snapshot ends at record ${at} with digest ${String(log.snapshot.get('digest'))}, but the committed records 1 to ${at} the primaries sent chain to digest ${digest} there (spec/07-consensus.md, section 10; the chain is spec/06-replication.md, section 5.2).`,
        excerpt(history, { replicas: [log.id], max: 8 }),
      );
    }
  }
}

/** The digest at `index` of the records primaries showed committed; undefined if one is missing. */
function committedDigest(history: History, index: bigint): bigint | undefined {
  let digest = 0n;
  for (let i = 1n; i <= index; i++) {
    const record = history.committed.get(i);
    if (!record) return undefined;
    digest = nextDigest(digest, record.bytes);
  }
  return digest;
}

function fail(rule: string, detail: string, events: Event[]): never {
  const excerpt = events.length ? `\nWhat the grader saw (seconds since the cluster started):\n${events.map((e) => `  ${describeEvent(e)}`).join('\n')}` : '';
  throw new GradeFailure(`rule broken: ${rule}. ${detail}${excerpt}`);
}

/**
 * The events about `ops` and `replicas`, with every fault and STATUS change from `from` ms to
 * `to` ms: the smallest story of what happened. At most `max` lines, first and last kept.
 */
export function excerpt(history: History, options: { ops?: Op[]; replicas?: number[]; from?: number; to?: number; max?: number }): Event[] {
  const ops = new Set(options.ops ?? []);
  const from = options.from ?? 0;
  const to = options.to ?? Number.POSITIVE_INFINITY;
  const picked = history.events.filter((e) => {
    if ((e.kind === 'send' || e.kind === 'sent') && ops.has(e.op)) return true;
    if (e.t < from || e.t > to) return false;
    if (e.kind === 'fault' || e.kind === 'note') return true;
    if (e.kind === 'message') return !options.replicas || e.replicas.some((r) => options.replicas!.includes(r));
    return e.kind === 'role' && (!options.replicas || options.replicas.includes(e.replica));
  });
  const max = options.max ?? 16;
  if (picked.length <= max) return picked;
  const head = picked.slice(0, Math.ceil(max / 2));
  const tail = picked.slice(picked.length - Math.floor(max / 2));
  return [...head, { t: head[head.length - 1]!.t, kind: 'note', text: `   ... ${picked.length - max} more events ...` }, ...tail];
}

function onePrimary(history: History): void {
  for (const round of history.rounds) {
    const primaries = [...round.states].filter(([, s]) => s?.role === 'primary').map(([id]) => id);
    if (primaries.length < 2) continue;
    fail(
      'never two primaries at once',
      `In the STATUS poll at ${(round.t / 1000).toFixed(2)} s (every replica asked at the same moment), replicas ${primaries.join(' and ')} each answered role "primary". ` +
        'Lab 6 elects a primary only when the old one is dead (spec sections 6 and 7); a replica that hears ELECTED for another steps down.',
      excerpt(history, { from: round.t - 3_000, to: round.until + 500 }),
    );
  }
}

function describeRecord(record: Rec | undefined): string {
  return record ? `${recordName(record.type)} ${show(record.payload, 200)}` : 'nothing';
}

function describeCommitted(record: CommittedRecord): string {
  return `${recordName(record.type)} ${show(record.payload, 200)}`;
}

const commitOf = (history: History, log: ReplicaLog) => history.maxCommit.get(log.id) ?? 0;

/** The log of the replica that reported the highest commit index (the lowest id on a tie). */
function referenceLog(history: History, logs: ReplicaLog[]): ReplicaLog {
  return [...logs].sort((a, b) => commitOf(history, b) - commitOf(history, a) || a.id - b.id)[0]!;
}

function oneHistory(history: History, logs: ReplicaLog[]): ReplicaLog {
  const reference = referenceLog(history, logs);
  for (const log of logs) {
    const c = BigInt(commitOf(history, log));
    if (lastIndex(log) < c) {
      fail(
        'one history up to the commit index',
        `Replica ${log.id} reported commit index ${c}, but its log ends at record ${lastIndex(log)}: a committed record may never leave a replica's log (spec section 5.3).`,
        excerpt(history, { replicas: [log.id], max: 10 }),
      );
    }
    for (let i = 1n; i <= c; i++) {
      const mine = recordAt(log, i);
      const theirs = recordAt(reference, i);
      // Under a snapshot, a record is not there to compare: the snapshot holds what it did.
      if ((i <= log.base || i <= reference.base) && (!mine || !theirs)) continue;
      if (mine && theirs && recordBytes(log, mine).equals(recordBytes(reference, theirs))) continue;
      fail(
        'one history up to the commit index',
        `Replica ${log.id} reported commit index ${c} and replica ${reference.id} commit index ${commitOf(history, reference)}, so both must hold the same record ${i}; ` +
          `replica ${log.id} holds ${describeRecord(mine)}, replica ${reference.id} holds ${describeRecord(theirs)} (spec section 5).`,
        excerpt(history, { replicas: [log.id, reference.id], max: 12 }),
      );
    }
  }
  return reference;
}

/**
 * Every message the committed log holds, by text: the reference's MESSAGE_SENT records up to the
 * commit index it reported, and the messages its snapshot keeps queued.
 */
function heldMessages(history: History, reference: ReplicaLog): Map<string, Held[]> {
  const byText = new Map<string, Held[]>();
  const add = (held: Held) => byText.set(held.text, [...(byText.get(held.text) ?? []), held]);
  for (const m of queuedInSnapshot(reference)) add({ index: m.id, to: m.to, text: m.text });
  const c = BigInt(commitOf(history, reference));
  for (const record of reference.records) {
    if (record.index > c || record.type !== R.MESSAGE_SENT) continue;
    const text = record.payload.get('text');
    const to = record.payload.get('to');
    if (typeof text === 'string' && typeof to === 'string') add({ index: record.index, to, text });
  }
  return byText;
}

function noneLost(history: History, reference: ReplicaLog, held: Map<string, Held[]>): void {
  const c = BigInt(commitOf(history, reference));
  for (const op of history.ops) {
    if (op.id === undefined) continue;
    const id = op.id;
    if (held.get(op.text)?.some((h) => h.index === id && h.to === op.to)) continue;
    // Compacted away and no longer queued (the grader's recipients never read): what a primary showed committed there.
    const shown = history.committed.get(id);
    if (id <= reference.base && shown?.type === R.MESSAGE_SENT && shown.payload.get('text') === op.text) continue;
    const record = recordAt(reference, id);
    const acked = history.events.find((e) => e.kind === 'sent' && e.op === op);
    const where = record && id <= c
      ? `record ${id} of replica ${reference.id}'s log is ${describeRecord(record)}`
      : id <= reference.base
        ? `replica ${reference.id}'s snapshot (up to record ${reference.base}) does not hold it`
        : `replica ${reference.id}'s committed log ends at record ${c < lastIndex(reference) ? c : lastIndex(reference)}`;
    fail(
      'no acknowledged message lost',
      `${op.writer}'s SEND ${JSON.stringify(op.text)} (${op.client ? `client ${op.client}, ` : ''}seq ${op.seq}) got SENT {id: ${op.id}} from replica ${op.ackedBy}, but ${where}. ` +
        'A SENT may leave the primary only once a majority has the record on disk (spec section 5.1), and the election must pick a replica that has it (section 7).',
      excerpt(history, { ops: [op], from: acked ? acked.t - 1_000 : 0 }),
    );
  }
}

function prefixStable(history: History, logs: ReplicaLog[]): void {
  const changed = history.changed;
  if (changed) {
    const { index, before, after } = changed;
    fail(
      'the committed prefix never changes',
      `Replica ${before.by}, primary of term ${before.term}, showed record ${index} committed as ${describeCommitted(before)} (its APPENDs held that record and a commit index at or past ${index}); ` +
        `later replica ${after.by}, primary of term ${after.term}, showed it committed as ${describeCommitted(after)}. ` +
        'A committed record is in the log of every later primary (the votes go only to a log at least as up to date: spec/07-consensus.md, section 6) and is never cut off (section 7).',
      excerpt(history, { replicas: [before.by, after.by], from: before.t - 3_000, to: after.t + 500 }),
    );
  }
  for (const log of logs) {
    const c = BigInt(commitOf(history, log));
    for (const [index, shown] of history.committed) {
      if (index > c || index <= log.base) continue;
      const mine = recordAt(log, index);
      if (mine && recordBytes(log, mine).equals(shown.bytes)) continue;
      fail(
        'the committed prefix never changes',
        `Replica ${shown.by}, primary of term ${shown.term}, showed record ${index} committed as ${describeCommitted(shown)}; replica ${log.id}, which reported commit index ${c}, ` +
          `ends with ${describeRecord(mine)} there (spec/07-consensus.md, sections 7 and 8).`,
        excerpt(history, { replicas: [log.id, shown.by], max: 12 }),
      );
    }
  }
}

function onePrimaryPerTerm(history: History): void {
  for (const [term, byReplica] of [...history.claims].sort(([a], [b]) => a - b)) {
    if (byReplica.size < 2) continue;
    const sorted = [...byReplica].sort(([, x], [, y]) => x.t - y.t);
    const [a, first] = sorted[0]!;
    const [b, second] = sorted[1]!;
    fail(
      'at most one primary per term',
      `Replica ${a} acted as the primary of term ${term} (${first.how}, at ${(first.t / 1000).toFixed(2)} s), and so did replica ${b} (${second.how}, at ${(second.t / 1000).toFixed(2)} s). ` +
        'A replica becomes the primary of a term only with the votes of a majority, and each replica votes once per term (spec/07-consensus.md, section 6): two majorities share a replica.',
      excerpt(history, { replicas: [a, b], from: Math.min(first.t, second.t) - 3_000, to: Math.max(first.t, second.t) + 500 }),
    );
  }
}

function oneVotePerTerm(history: History): void {
  const double = history.doubleVote;
  if (!double) return;
  fail(
    'at most one vote per replica per term',
    `Replica ${double.voter} granted its vote in term ${double.term} to replica ${double.first.candidate} (at ${(double.first.t / 1000).toFixed(2)} s) and to replica ${double.second.candidate} (at ${(double.second.t / 1000).toFixed(2)} s). ` +
      'A replica grants one vote per term, and saves it before it answers (spec/07-consensus.md, section 6).',
    excerpt(history, { replicas: [double.voter, double.first.candidate, double.second.candidate], from: double.first.t - 2_000, to: double.second.t + 500 }),
  );
}

function keptWhatItAcknowledged(history: History): void {
  const d = history.disowned;
  if (!d) return;
  fail(
    'a backup keeps what it acknowledged',
    `In term ${d.term}, replica ${d.backup} answered replica ${d.primary}'s APPENDs with APPENDED {index: ${d.acked}} (at ${(d.ackedAt / 1000).toFixed(2)} s), so its log was the primary's up to record ${d.acked}; ` +
      `at ${(d.t / 1000).toFixed(2)} s it answered MISMATCH {prev: ${d.prev}${d.last === undefined ? '' : `, last: ${d.last}`}} in the same term, though a primary never changes its log within its term. ` +
      'Either it lost records it had synced, or its digests are not the spec\'s: digest(i) chains from digest(i − 1), and after a snapshot from the snapshot\'s digest, also when the replica restarts (spec/07-consensus.md, sections 7 and 10).',
    excerpt(history, { replicas: [d.backup, d.primary], from: d.ackedAt - 1_000, to: d.t + 500 }),
  );
}

function noneTwice(history: History, held: Map<string, Held[]>): void {
  for (const [text, copies] of held) {
    const ids = new Set(copies.map((c) => c.index));
    if (ids.size < 2) continue;
    const op = history.ops.find((o) => o.text === text);
    fail(
      'no message applied twice',
      `The message ${JSON.stringify(text)}${op ? ` (${op.writer}, client ${op.client}, seq ${op.seq})` : ''} is in the log ${ids.size} times, at records ${[...ids].join(' and ')}. ` +
        'A SEND sent again with the same (client, seq) must be answered with its first id and append nothing (spec section 8).',
      excerpt(history, { ops: op ? [op] : [], max: 12 }),
    );
  }
}

function orderKept(history: History, held: Map<string, Held[]>): void {
  const writers = new Set(history.ops.map((op) => op.writer));
  for (const writer of writers) {
    const ops = history.ops.filter((op) => op.writer === writer);
    const present = ops.map((op) => ({ op, record: held.get(op.text)?.[0] })).filter((p) => p.record);
    const inLog = [...present].sort((a, b) => (a.record!.index < b.record!.index ? -1 : 1));
    for (let i = 1; i < inLog.length; i++) {
      if (inLog[i]!.op.seq > inLog[i - 1]!.op.seq) continue;
      const [a, b] = [inLog[i - 1]!, inLog[i]!];
      fail(
        "each sender's order kept",
        `${writer} sent seq ${b.op.seq} before seq ${a.op.seq}, but the log holds seq ${a.op.seq} at record ${a.record!.index} and seq ${b.op.seq} at record ${b.record!.index}, after it.`,
        excerpt(history, { ops: [a.op, b.op], max: 12 }),
      );
    }
    // What one connection sent is applied in order: if a SEND of a connection is missing, so is
    // every later one of that connection. Only a SEND whose fate is unknown may be missing.
    for (const op of ops) {
      if (held.has(op.text)) continue;
      const later = ops.find((o) => o.session === op.session && o.seq > op.seq && held.has(o.text));
      if (op.abandoned && !later) continue;
      const detail = later
        ? `${writer}'s seq ${later.seq} is in the log but its seq ${op.seq} (${JSON.stringify(op.text)}), sent before it on the same connection, is not: a client's messages are applied in the order it sent them, with no gap (spec section 8).`
        : `${writer}'s seq ${op.seq} (${JSON.stringify(op.text)}) is not in the log, though it was sent again until acknowledged.`;
      fail("each sender's order kept", detail, excerpt(history, { ops: later ? [op, later] : [op], max: 12 }));
    }
  }
}
