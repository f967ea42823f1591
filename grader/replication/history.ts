// What the grader saw while a replicated cluster ran (labs 6 and 7): every request its clients
// made and every acknowledgement they got, every fault it caused, every round of STATUS polls.
// The checker (checker.ts) reads this, with the replicas' logs, and says which rule broke; the
// events are what its failure text quotes.
//
// Lab 7 adds what terms let the grader see (spec/07-consensus.md, section 15): who claimed to be
// the primary of which term (in STATUS, and in the APPENDs, snapshots and ELECTEDs its proxies
// carried), the votes granted, and every record a primary showed committed (an APPEND's entries,
// with its commit index). The proxies' part is filled in by watch.ts.
import { performance } from 'node:perf_hooks';
import type { Status, ValueMap } from '../../labs/06-replication/tests/wire.js';

/** A REPLICA_STATE; lab 7's carries the replica's term. */
export type ReplicaStatus = Status & { term?: number };

/** A replica's claim to be the primary of a term: where the grader saw it first. */
export interface Claim {
  t: number;
  /** "STATUS", "an APPEND to replica 2", ... */
  how: string;
}

/** A record that a primary showed committed: its entry in an APPEND, and a commit index at or past it. */
export interface CommittedRecord {
  type: number;
  /** The record's bytes, as lab 5's record format makes them from the entry. */
  bytes: Buffer;
  /** Its payload, for a failure's text. */
  payload: ValueMap;
  /** The primary and term whose APPENDs showed it committed, and when. */
  by: number;
  term: number;
  t: number;
}

/** One SEND the grader's clients made: who sent it, its (client, seq), its text, and its fate. */
export interface Op {
  /** The grader client's name, "w1": also the text's prefix. */
  writer: string;
  /** The `client` number it sent (spec section 8). */
  client: bigint;
  seq: number;
  to: string;
  text: string;
  /** The id its SENT gave, once one came. */
  id?: bigint;
  /** The replica that acknowledged it. */
  ackedBy?: number;
  /** The writer's connection (1, 2, ...) it was first sent on: what one connection sent is kept as a prefix. */
  session: number;
  /** Sent without (client, seq), and the connection died before its SENT: its fate is unknown, and it is not sent again. */
  abandoned?: boolean;
}

export type Event =
  | { t: number; kind: 'send'; op: Op; replica: number; again: boolean }
  | { t: number; kind: 'sent'; op: Op; replica: number }
  | { t: number; kind: 'abandoned'; op: Op; replica: number }
  | { t: number; kind: 'fault'; text: string; replicas: number[] }
  | { t: number; kind: 'role'; text: string; replica: number }
  | { t: number; kind: 'message'; text: string; replicas: number[] }
  | { t: number; kind: 'note'; text: string };

/** One poll: every replica asked at once; `undefined` for one that did not answer. */
export interface Round {
  t: number;
  /** When the last answer came. */
  until: number;
  states: Map<number, ReplicaStatus | undefined>;
}

export class History {
  private readonly began = performance.now();
  readonly events: Event[] = [];
  readonly ops: Op[] = [];
  readonly rounds: Round[] = [];
  /** The highest commit index each replica ever reported. */
  readonly maxCommit = new Map<number, number>();
  private readonly lastRole = new Map<number, string>();
  /** Lab 7: claims to be the primary, by term, then by replica. */
  readonly claims = new Map<number, Map<number, Claim>>();
  /** Lab 7: votes granted, by term, then by voter: the candidate and when. */
  readonly votes = new Map<number, Map<number, { candidate: number; t: number }>>();
  /** Lab 7: records shown committed, by index. */
  readonly committed = new Map<bigint, CommittedRecord>();
  /** Lab 7: the first time a record shown committed was later shown committed with other bytes. */
  changed: { index: bigint; before: CommittedRecord; after: CommittedRecord } | undefined;
  /** Lab 7: the first replica that granted votes to two candidates in one term. */
  doubleVote: { voter: number; term: number; first: { candidate: number; t: number }; second: { candidate: number; t: number } } | undefined;
  /** Lab 7: the first backup that answered MISMATCH for a record it had acknowledged to the same primary in the same term. */
  disowned: { backup: number; primary: number; term: number; acked: bigint; ackedAt: number; prev: bigint; last: bigint | undefined; t: number } | undefined;
  /** Lab 7: every term a replica reported, for "the terms rose by at most ...". */
  readonly terms = new Map<number, number>();
  /** Lab 7: the snapshots a primary sent, as the proxies saw them. */
  readonly snapshots: { from: number; to: number; index: bigint; t: number }[] = [];

  /** Milliseconds since the history began. */
  now(): number {
    return Math.round(performance.now() - this.began);
  }

  op(writer: string, client: bigint, seq: number, to: string, session: number): Op {
    const op: Op = { writer, client, seq, to, text: `${writer} #${seq}`, session };
    this.ops.push(op);
    return op;
  }

  sent(op: Op, replica: number, again: boolean): void {
    this.events.push({ t: this.now(), kind: 'send', op, replica, again });
  }

  acked(op: Op, id: bigint, replica: number): void {
    if (op.id !== undefined) return;
    op.id = id;
    op.ackedBy = replica;
    this.events.push({ t: this.now(), kind: 'sent', op, replica });
  }

  abandoned(op: Op, replica: number): void {
    op.abandoned = true;
    this.events.push({ t: this.now(), kind: 'abandoned', op, replica });
  }

  fault(text: string, replicas: number[]): void {
    this.events.push({ t: this.now(), kind: 'fault', text, replicas });
  }

  note(text: string): void {
    this.events.push({ t: this.now(), kind: 'note', text });
  }

  /** A message between replicas worth quoting in a failure (a vote, a claim), seen by a proxy. */
  message(text: string, replicas: number[]): void {
    this.events.push({ t: this.now(), kind: 'message', text, replicas });
  }

  /** Replica `id` acted as the primary of `term` (its first such act is kept). */
  claim(term: number, id: number, how: string, t = this.now()): void {
    const byReplica = this.claims.get(term) ?? new Map<number, Claim>();
    this.claims.set(term, byReplica);
    if (!byReplica.has(id)) byReplica.set(id, { t, how });
  }

  /** Replica `voter` granted its vote in `term` to `candidate`. */
  vote(voter: number, candidate: number, term: number): void {
    const byVoter = this.votes.get(term) ?? new Map<number, { candidate: number; t: number }>();
    this.votes.set(term, byVoter);
    const first = byVoter.get(voter);
    const now = { candidate, t: this.now() };
    if (!first) byVoter.set(voter, now);
    else if (first.candidate !== candidate) this.doubleVote ??= { voter, term, first, second: now };
  }

  /** A record a primary showed committed. A different record at an index already committed is kept as the rule it breaks. */
  commit(index: bigint, record: CommittedRecord): void {
    const before = this.committed.get(index);
    if (!before) this.committed.set(index, record);
    else if (!before.bytes.equals(record.bytes)) this.changed ??= { index, before, after: record };
  }

  /** A finished poll round; role changes become events, so that failures can quote them. */
  round(round: Round): void {
    this.rounds.push(round);
    for (const [id, state] of round.states) {
      if (state) this.maxCommit.set(id, Math.max(this.maxCommit.get(id) ?? 0, state.commit));
      if (state?.term !== undefined) {
        this.terms.set(id, Math.max(this.terms.get(id) ?? 0, state.term));
        if (state.role === 'primary') this.claim(state.term, id, 'STATUS', round.t);
      }
      const inTerm = state?.term === undefined ? '' : ` in term ${state.term}`;
      const role = state ? (state.role === 'primary' ? 'primary' : state.role === 'candidate' ? 'candidate' : `backup of ${state.primary || 'no one'}`) + inTerm : 'not answering';
      if (this.lastRole.get(id) !== role) {
        this.lastRole.set(id, role);
        const detail = state ? ` (log ${state.last}, commit ${state.commit})` : '';
        this.events.push({ t: round.t, kind: 'role', text: `STATUS: replica ${id} is ${role}${detail}`, replica: id });
      }
    }
  }
}

export function describeEvent(e: Event): string {
  const at = `${(e.t / 1000).toFixed(2).padStart(6)} s`;
  switch (e.kind) {
    case 'send':
      return `${at}  ${e.op.writer} sent SEND ${JSON.stringify(e.op.text)} (${e.op.client ? `client ${e.op.client}, ` : ''}seq ${e.op.seq})${e.again ? ' again' : ''} to replica ${e.replica}`;
    case 'abandoned':
      return `${at}  ${e.op.writer}'s connection to replica ${e.replica} died before the SENT for ${JSON.stringify(e.op.text)}; not sent again (it had no client and seq)`;
    case 'sent':
      return `${at}  replica ${e.replica} answered SENT {id: ${e.op.id}} for ${JSON.stringify(e.op.text)}`;
    case 'fault':
      return `${at}  grader: ${e.text}`;
    case 'role':
    case 'message':
    case 'note':
      return `${at}  ${e.text}`;
  }
}
