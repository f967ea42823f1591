// STATUS polls (spec/06-replication.md, section 10): every replica asked at once, several times a
// second, for as long as a test runs. Each round goes into the History; a reply that breaks the
// spec's format is kept as the test's failure. The polls use connections of their own, straight
// to each replica's port, and stay out of the transcript (they would drown it): only what they
// show changing does, through the History's role events. Lab 7's REPLICA_STATE carries a `term`
// (spec/07-consensus.md, section 11), kept when it is there.
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Conn } from '../harness/wire.js';
import { bounded } from '../harness/wait.js';
import { T6, parseStatus, statusRequest } from '../../labs/06-replication/tests/wire.js';
import { decodeValue } from '../../labs/03-protocol/tests/wire.js';
import type { History, ReplicaStatus, Round } from './history.js';

const intervalMs = 100;
const answerMs = 1_000;

export class StatusPoller {
  private readonly conns = new Map<number, Conn>();
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  /** The first REPLICA_STATE that broke the spec, as a sentence. */
  problem: string | undefined;
  latest: Round | undefined;
  /** Replicas that answered without a `term` (lab 6's REPLICA_STATE has none; lab 7's must). */
  readonly withoutTerm = new Set<number>();

  constructor(
    /** The replicas' own ports, by id. */
    private readonly ports: () => Map<number, number>,
    private readonly history: History,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await bounded(this.loop, 3_000);
    for (const conn of this.conns.values()) conn.destroy();
    this.conns.clear();
  }

  /** Resolves after the next complete round. */
  async nextRound(): Promise<Round> {
    const before = this.latest;
    while (this.latest === before) {
      await new Promise<void>((resolve) => {
        const previous = this.wake;
        this.wake = () => {
          previous?.();
          resolve();
        };
      });
    }
    return this.latest!;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const t = this.history.now();
      const started = performance.now();
      const entries = [...this.ports()];
      const states = await Promise.all(entries.map(([id, port]) => this.ask(id, port)));
      const round: Round = { t, until: this.history.now(), states: new Map(entries.map(([id], i) => [id, states[i]])) };
      this.history.round(round);
      this.latest = round;
      const wake = this.wake;
      this.wake = undefined;
      wake?.();
      await delay(Math.max(10, intervalMs - (performance.now() - started)));
    }
  }

  /** One replica's STATUS, or undefined if it does not answer within a second. */
  private async ask(id: number, port: number): Promise<ReplicaStatus | undefined> {
    let conn = this.conns.get(id);
    try {
      if (!conn) {
        conn = await Conn.connect(port, { name: `STATUS poll of replica ${id}`, timeoutMs: answerMs });
        this.conns.set(id, conn);
      }
      conn.send(statusRequest());
      const head = await conn.readBytes(12, { timeoutMs: answerMs, what: 'a REPLICA_STATE header' });
      const type = Number(head.readBigInt64BE(0));
      const length = head.readUInt32BE(8);
      if (length > 1024 * 1024) throw new Error('frame over the maximum');
      const payload = await conn.readBytes(length, { timeoutMs: answerMs, what: 'a REPLICA_STATE payload' });
      if (type !== T6.REPLICA_STATE) {
        this.problem ??= `replica ${id} answered STATUS with a frame of type ${type}, not REPLICA_STATE (110) (spec section 3.1)`;
        throw new Error('not a REPLICA_STATE');
      }
      let parsed: ReplicaStatus | string;
      let term: unknown;
      try {
        const value = decodeValue(payload);
        parsed = parseStatus(value);
        term = value instanceof Map ? value.get('term') : undefined;
      } catch (error) {
        parsed = `its payload does not decode: ${(error as Error).message}`;
      }
      if (typeof parsed === 'string') {
        this.problem ??= `replica ${id} answered STATUS wrongly: ${parsed} (spec section 3.1)`;
        return undefined;
      }
      if (parsed.id !== id) this.problem ??= `replica ${id} answered STATUS with id ${parsed.id}: its own id is ${id} (spec section 3.1)`;
      if (term === undefined) this.withoutTerm.add(id);
      else if (typeof term !== 'bigint' || term < 0n || term > BigInt(Number.MAX_SAFE_INTEGER)) this.problem ??= `replica ${id} answered STATUS with "term": ${String(term)}: a term is a non-negative int (spec/07-consensus.md, section 11)`;
      else parsed.term = Number(term);
      return parsed;
    } catch {
      conn?.destroy();
      this.conns.delete(id);
      return undefined;
    }
  }
}
