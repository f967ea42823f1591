// The grader's own client of a replicated cluster (spec/06-replication.md, section 8): it logs in
// on the primary, keeps a window of SENDs in flight, and when the primary goes away (a dead
// connection, `not-primary`, no answer in time) finds the new one and logs in again. Then:
//
// - with `resend`, every SEND carries (client, seq), and those still unacknowledged are sent again,
//   seq unchanged: the replicas must apply each once (phase 6.4 and later);
// - without it, SENDs carry no (client, seq), as lab 5's did, and those in flight when the
//   connection died are abandoned: they may or may not be in the log, and are never sent again.
//   The phases before 6.4 use this, so that they need nothing of 6.4.
//
// Every SEND and every SENT goes into the History; the checker decides afterwards whether the
// cluster kept its promises. Texts are "<name> #<seq>", unique, so the log shows each one's origin.
import { setTimeout as delay } from 'node:timers/promises';
import type { Harness } from '../harness/index.js';
import { Conn } from '../harness/wire.js';
import { GradeFailure, scaled, seconds } from '../harness/wait.js';
import { T, decodeValue, map, message, show, type Value } from '../../labs/03-protocol/tests/wire.js';
import type { Cluster } from './cluster.js';
import type { Op } from './history.js';

export interface WriterOptions {
  /** The account that receives every message (it should exist and stay logged out). */
  to: string;
  /** SENDs in flight at once. */
  window?: number;
  /** A pause after each SENT, to keep the load on the machine moderate. */
  paceMs?: number;
  /** How long the writer may go without a primary that answers before it fails the test. */
  patienceMs?: number;
  /** Send (client, seq), and send what is unacknowledged again after a failover. */
  resend?: boolean;
}

export class Writer {
  readonly client: bigint;
  private readonly pending: Op[] = [];
  private seq = 0;
  private stopping = false;
  private done: Promise<void> | undefined;
  private conn: Conn | undefined;
  private at = 0;
  private probes = 0;
  private session = 0;
  /** SENDs acknowledged. */
  acked = 0;

  constructor(
    private readonly h: Harness,
    private readonly cluster: Cluster,
    readonly name: string,
    private readonly options: WriterOptions,
  ) {
    // Seeded, so a replay sends the same numbers; distinct per writer by its name.
    this.client = BigInt(h.random.int(1, 2 ** 30)) * 1024n + BigInt([...name].reduce((n, c) => (n * 31 + c.charCodeAt(0)) % 1024, 7));
  }

  /** Starts sending; returns at once. */
  start(): void {
    this.done = this.run();
    this.done.catch(() => undefined);
  }

  /** Stops making new SENDs and waits until every one made is acknowledged. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
    this.conn?.destroy();
  }

  /** Waits until at least `n` more SENDs have been acknowledged. */
  async progress(n: number, what: string, timeoutMs = 30_000): Promise<void> {
    const target = this.acked + n;
    const end = Date.now() + scaled(timeoutMs);
    while (this.acked < target) {
      if (Date.now() > end) throw new GradeFailure(`${this.name} waited ${seconds(scaled(timeoutMs))} for ${n} SENDs to be acknowledged ${what}, and got ${n - (target - this.acked)}: writes did not go on`);
      await Promise.race([this.done, delay(20)]);
    }
  }

  private async run(): Promise<void> {
    const patience = scaled(this.options.patienceMs ?? 30_000);
    let since = Date.now();
    for (;;) {
      if (this.stopping && this.pending.length === 0) return;
      if (!this.conn) {
        if (Date.now() - since > patience) {
          throw new GradeFailure(`${this.name} found no primary that would take its SENDs for ${seconds(patience)}; ${this.pending.length} SEND(s) wait unacknowledged (${this.pending.slice(0, 3).map((op) => op.text).join(', ')})`);
        }
        if (!(await this.connect())) {
          await delay(100);
          continue;
        }
        since = Date.now();
      }
      const window = this.options.window ?? 1;
      while (!this.stopping && this.pending.length < window) {
        const op = this.cluster.history.op(this.name, this.options.resend ? this.client : 0n, ++this.seq, this.options.to, this.session);
        this.pending.push(op);
        this.transmit(op, false);
      }
      const outcome = await this.reply();
      if (outcome === 'lost') {
        this.drop();
        since = Date.now();
        continue;
      }
      since = Date.now();
      if (this.options.paceMs) await delay(this.options.paceMs);
    }
  }

  private transmit(op: Op, again: boolean): void {
    this.cluster.history.sent(op, this.at, again);
    const request = map({ text: op.text, to: op.to });
    if (this.options.resend) request.set('client', this.client).set('seq', BigInt(op.seq));
    this.conn!.send(message(T.SEND, request));
  }

  /** Connects to the replica that last said it is the primary, logs in, and sends the pending again. */
  private async connect(): Promise<boolean> {
    const id = this.cluster.primaryNow() ?? this.cluster.ids[this.probes++ % this.cluster.ids.length]!;
    const port = this.cluster.member(id).port;
    let conn: Conn;
    try {
      conn = await Conn.connect(port, { name: `${this.name} at replica ${id}`, timeoutMs: 2_000 });
    } catch {
      return false;
    }
    this.h.own(conn);
    this.conn = conn;
    this.at = id;
    this.session++;
    conn.send(message(T.LOGIN, map({ name: this.name, password: `pw-${this.name}` })));
    const frame = await this.frame(conn, 10_000);
    if (!frame) return this.drop();
    if (frame.type !== T.LOGGED_IN) {
      if (frame.type === T.ERROR && errorCode(frame.value) === 'not-primary') return this.drop();
      throw new GradeFailure(`${this.name} logged in on replica ${id}, the primary, and got ${frame.type === T.ERROR ? `ERROR ${show(frame.value)}` : `a frame of type ${frame.type}`}; it expected LOGGED_IN`);
    }
    if (this.pending.length > 0) this.h.note(`${this.name} logged in on replica ${id} and sends its ${this.pending.length} unacknowledged SEND(s) again, with the same seq`);
    for (const op of this.pending) this.transmit(op, true);
    return true;
  }

  private drop(): false {
    this.conn?.destroy();
    this.conn = undefined;
    // Without (client, seq), sending again could apply a message twice: its fate stays unknown.
    if (!this.options.resend) for (const op of this.pending.splice(0)) this.cluster.history.abandoned(op, this.at);
    return false;
  }

  /** The reply to the oldest pending SEND; 'lost' if the connection died or the replica stepped aside. */
  private async reply(): Promise<'ok' | 'lost'> {
    const frame = await this.frame(this.conn!, this.cluster.baseTimeoutMs * 2 + 10_000);
    if (!frame) return 'lost';
    if (frame.type === T.MESSAGE) return 'ok';
    const op = this.pending[0];
    if (frame.type === T.ERROR && errorCode(frame.value) === 'not-primary') return 'lost';
    const id = frame.value instanceof Map ? frame.value.get('id') : undefined;
    if (!op || frame.type !== T.SENT || typeof id !== 'bigint') {
      throw new GradeFailure(`${this.name} sent SEND ${JSON.stringify(op?.text)} to replica ${this.at}, the primary, and got ${frame.type === T.ERROR ? `ERROR ${show(frame.value)}` : `type ${frame.type} ${show(frame.value)}`}; it expected SENT {id}`);
    }
    this.pending.shift();
    this.cluster.history.acked(op, id, this.at);
    this.acked++;
    return 'ok';
  }

  /** The next frame on `conn`, or undefined when it dies or stays silent for `timeoutMs`. */
  private async frame(conn: Conn, timeoutMs: number): Promise<{ type: number; value: Value } | undefined> {
    try {
      const head = await conn.readBytes(12, { timeoutMs, what: 'a reply' });
      const payload = await conn.readBytes(head.readUInt32BE(8), { timeoutMs, what: 'a reply' });
      return { type: Number(head.readBigInt64BE(0)), value: decodeValue(payload) };
    } catch {
      return undefined;
    }
  }
}

function errorCode(value: Value): string | undefined {
  const code = value instanceof Map ? value.get('code') : undefined;
  return typeof code === 'string' ? code : undefined;
}
