// The checker of a replicated cluster's history (spec/06-replication.md, section 13; lab 7 adds
// its rules on terms). Given what the grader's clients saw (History) and every replica's log at
// the end, it proves the rules or fails with the first one broken, naming the rule, the client,
// seq, index and replicas involved, and the smallest excerpt of history that shows it:
//
//   1. never two primaries at once, as far as STATUS shows;
//   2. one history up to the commit index: every replica's log, up to the highest commit index it
//      reported, is the log of the replica that reported the highest commit index;
//   3. no acknowledged message lost: a SENT {id} means that message is record `id`;
//   4. none applied twice: each text (unique) is in one record at most;
//   5. each sender's order kept: a client's messages appear in seq order with no gap.
import { GradeFailure } from '../harness/wait.js';
import { show } from '../../labs/03-protocol/tests/wire.js';
import { R, recordName, type Rec } from '../../labs/05-persistence/tests/logfile.js';
import { describeEvent, type Event, type History, type Op } from './history.js';

/** One replica's log as it was at the end: its records and the file's bytes. */
export interface ReplicaLog {
  id: number;
  records: Rec[];
  bytes: Buffer;
}

export function checkHistory(history: History, logs: ReplicaLog[]): void {
  onePrimary(history);
  const reference = oneHistory(history, logs);
  const committed = reference.records.slice(0, history.maxCommit.get(reference.id) ?? 0);
  const byText = new Map<string, Rec[]>();
  for (const record of committed) {
    if (record.type !== R.MESSAGE_SENT) continue;
    const text = record.payload.get('text');
    if (typeof text === 'string') byText.set(text, [...(byText.get(text) ?? []), record]);
  }
  noneLost(history, reference, committed);
  noneTwice(history, byText);
  orderKept(history, byText);
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

function recordBytes(log: ReplicaLog, i: number): Buffer | undefined {
  const record = log.records[i];
  return record ? log.bytes.subarray(record.offset, record.end) : undefined;
}

function oneHistory(history: History, logs: ReplicaLog[]): ReplicaLog {
  const commit = (log: ReplicaLog) => history.maxCommit.get(log.id) ?? 0;
  const reference = [...logs].sort((a, b) => commit(b) - commit(a) || a.id - b.id)[0]!;
  for (const log of logs) {
    const c = commit(log);
    if (log.records.length < c) {
      fail(
        'one history up to the commit index',
        `Replica ${log.id} reported commit index ${c}, but its log ends at record ${log.records.length}: a committed record may never leave a replica's log (spec section 5.3).`,
        excerpt(history, { replicas: [log.id], max: 10 }),
      );
    }
    for (let i = 0; i < c; i++) {
      const mine = recordBytes(log, i);
      const theirs = recordBytes(reference, i);
      if (mine && theirs && mine.equals(theirs)) continue;
      fail(
        'one history up to the commit index',
        `Replica ${log.id} reported commit index ${c} and replica ${reference.id} commit index ${commit(reference)}, so both must hold the same record ${i + 1}; ` +
          `replica ${log.id} holds ${describeRecord(log.records[i])}, replica ${reference.id} holds ${describeRecord(reference.records[i])} (spec section 5).`,
        excerpt(history, { replicas: [log.id, reference.id], max: 12 }),
      );
    }
  }
  return reference;
}

function noneLost(history: History, reference: ReplicaLog, committed: Rec[]): void {
  for (const op of history.ops) {
    if (op.id === undefined) continue;
    const record = committed[Number(op.id) - 1];
    const text = record?.payload.get('text');
    if (record?.type === R.MESSAGE_SENT && text === op.text && record.payload.get('to') === op.to) continue;
    const acked = history.events.find((e) => e.kind === 'sent' && e.op === op);
    const where = record
      ? `record ${op.id} of replica ${reference.id}'s log is ${describeRecord(record)}`
      : `replica ${reference.id}'s committed log ends at record ${committed.length}`;
    fail(
      'no acknowledged message lost',
      `${op.writer}'s SEND ${JSON.stringify(op.text)} (client ${op.client}, seq ${op.seq}) got SENT {id: ${op.id}} from replica ${op.ackedBy}, but ${where}. ` +
        'A SENT may leave the primary only once a majority has the record on disk (spec section 5.1), and the election must pick a replica that has it (section 7).',
      excerpt(history, { ops: [op], from: acked ? acked.t - 1_000 : 0 }),
    );
  }
}

function noneTwice(history: History, byText: Map<string, Rec[]>): void {
  for (const [text, records] of byText) {
    if (records.length < 2) continue;
    const op = history.ops.find((o) => o.text === text);
    fail(
      'no message applied twice',
      `The message ${JSON.stringify(text)}${op ? ` (${op.writer}, client ${op.client}, seq ${op.seq})` : ''} is in the log ${records.length} times, at records ${records.map((r) => r.index).join(' and ')}. ` +
        'A SEND sent again with the same (client, seq) must be answered with its first id and append nothing (spec section 8).',
      excerpt(history, { ops: op ? [op] : [], max: 12 }),
    );
  }
}

function orderKept(history: History, byText: Map<string, Rec[]>): void {
  const writers = new Set(history.ops.map((op) => op.writer));
  for (const writer of writers) {
    const ops = history.ops.filter((op) => op.writer === writer);
    const present = ops.map((op) => ({ op, record: byText.get(op.text)?.[0] })).filter((p) => p.record);
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
      if (byText.has(op.text)) continue;
      const later = ops.find((o) => o.session === op.session && o.seq > op.seq && byText.has(o.text));
      if (op.abandoned && !later) continue;
      const detail = later
        ? `${writer}'s seq ${later.seq} is in the log but its seq ${op.seq} (${JSON.stringify(op.text)}), sent before it on the same connection, is not: a client's messages are applied in the order it sent them, with no gap (spec section 8).`
        : `${writer}'s seq ${op.seq} (${JSON.stringify(op.text)}) is not in the log, though it was sent again until acknowledged.`;
      fail("each sender's order kept", detail, excerpt(history, { ops: later ? [op, later] : [op], max: 12 }));
    }
  }
}
