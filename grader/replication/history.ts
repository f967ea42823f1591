// What the grader saw while a replicated cluster ran (labs 6 and 7): every request its clients
// made and every acknowledgement they got, every fault it caused, every round of STATUS polls.
// The checker (checker.ts) reads this, with the replicas' logs, and says which rule broke; the
// events are what its failure text quotes.
import { performance } from 'node:perf_hooks';
import type { Status } from '../../labs/06-replication/tests/wire.js';

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
  | { t: number; kind: 'note'; text: string };

/** One poll: every replica asked at once; `undefined` for one that did not answer. */
export interface Round {
  t: number;
  /** When the last answer came. */
  until: number;
  states: Map<number, Status | undefined>;
}

export class History {
  private readonly began = performance.now();
  readonly events: Event[] = [];
  readonly ops: Op[] = [];
  readonly rounds: Round[] = [];
  /** The highest commit index each replica ever reported. */
  readonly maxCommit = new Map<number, number>();
  private readonly lastRole = new Map<number, string>();

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

  /** A finished poll round; role changes become events, so that failures can quote them. */
  round(round: Round): void {
    this.rounds.push(round);
    for (const [id, state] of round.states) {
      if (state) this.maxCommit.set(id, Math.max(this.maxCommit.get(id) ?? 0, state.commit));
      const role = state ? (state.role === 'primary' ? 'primary' : state.role === 'candidate' ? 'candidate' : `backup of ${state.primary || 'no one'}`) : 'not answering';
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
    case 'note':
      return `${at}  ${e.text}`;
  }
}
