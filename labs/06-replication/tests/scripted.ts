// Replicas the grader plays itself, around one of yours: it writes your replica's data directory
// (a log of records, as if it had run before), starts it with --peers naming the grader's own
// listeners, and then speaks for replicas 2, 3, ... exactly as the spec says replicas speak:
// APPENDs with any prev and commit, tokens, answers. It reads what your replica sends each of
// them, so a test can require, message by message, what spec/06-replication.md requires (the
// check on the digest at prev, the cap on the commit index). Lab 7 adds terms (its scripted.ts).
//
// Each grader replica listens on a claimed port, where your replica's outgoing connection to it
// arrives, and opens its own connection to your replica's port to send (replicas never answer on
// a connection the other side opened: spec/06-replication.md, section 1). Every message either
// way is in the test's trace, decoded.
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { GradeFailure, type Harness, type Proc, type TraceLink } from '../../../grader/harness/index.js';
import { describeExit } from '../../../grader/harness/process.js';
import { scaled, seconds } from '../../../grader/harness/wait.js';
import { writeDataFile } from '../../../grader/harness/datafiles.js';
import { decodeValue, encodeValue, frame, headerBytes, maxPayload, show, type Value, type ValueMap } from '../../03-protocol/tests/wire.js';
import { T6, logBytes, map, typeName6, type LogEntry } from './wire.js';

export interface Received {
  type: number;
  value: ValueMap;
}

/** One replica the grader plays. */
export class GraderReplica {
  port = 0;
  private readonly server = net.createServer();
  private readonly sockets = new Set<net.Socket>();
  private readonly inbox: Received[] = [];
  private wake: (() => void) | undefined;
  private out: net.Socket | undefined;
  private outLink: TraceLink | undefined;
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    protected readonly h: Harness,
    readonly id: number,
    /** Your replica, once started (for the trace's lanes). */
    private readonly yours: () => Proc | undefined,
    /** How the lab names its message types, for notes and failures. */
    private readonly typeName: (type: number) => string = typeName6,
  ) {
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      const link = h.trace.link(this.lane, () => this.yours() ?? 'your replica');
      link.event('accept', `your replica connected to replica ${id} (played by the grader)`);
      let buffered = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        link.received(chunk);
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= headerBytes) {
          const length = buffered.readUInt32BE(8);
          if (length > maxPayload) {
            buffered = Buffer.alloc(0);
            socket.destroy();
            return;
          }
          if (buffered.length < headerBytes + length) break;
          const type = Number(buffered.readBigInt64BE(0));
          const payload = buffered.subarray(headerBytes, headerBytes + length);
          buffered = buffered.subarray(headerBytes + length);
          let value: Value | undefined;
          try {
            value = decodeValue(payload);
          } catch {
            value = undefined;
          }
          if (value instanceof Map) this.inbox.push({ type, value });
          this.wake?.();
        }
      });
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  get lane(): string {
    return `replica ${this.id} (the grader)`;
  }

  async listen(): Promise<void> {
    this.port = await this.h.listen(this.server, `the grader's replica ${this.id}`);
    this.h.onTeardown(() => this.close());
  }

  /** Opens (again) its connection to your replica's port. */
  async connect(port: number): Promise<void> {
    this.out?.destroy();
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    }).catch((error: Error) => {
      throw new GradeFailure(`replica ${this.id} (played by the grader) could not connect to your replica on port ${port}: ${error.message}`);
    });
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    this.out = socket;
    this.outLink = this.h.trace.link(this.lane, () => this.yours() ?? 'your replica');
  }

  /** Sends one replica message, `from` (and in lab 7 `term`) included by the caller. */
  send(type: number, fields: Record<string, Value>): void {
    const payload = map(fields);
    const bytes = frame(type, encodeValue(payload));
    this.h.note(`replica ${this.id} (the grader) sends ${this.typeName(type)} ${show(payload, 200)}`);
    this.outLink?.sent(bytes);
    this.out?.write(bytes);
  }

  /** Sends what `message` makes now and every `ms` after, until stopRepeating() (a heartbeat). */
  repeat(ms: number, message: () => [type: number, fields: Record<string, Value>]): void {
    this.stopRepeating();
    const beat = () => this.send(...message());
    beat();
    this.ticker = setInterval(beat, ms);
  }

  stopRepeating(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /** Forgets what your replica sent it so far. */
  clear(): void {
    this.inbox.length = 0;
  }

  /**
   * Waits for the next message of `type` from your replica that `match` accepts, passing over the
   * others (HEARTBEATs above all). Fails with `what` and what did arrive.
   */
  async expect(type: number, what: string, match: (v: ValueMap) => boolean = () => true, timeoutMs = 5_000): Promise<ValueMap> {
    const wait = scaled(timeoutMs);
    const end = Date.now() + wait;
    const seen: string[] = [];
    const handle = this.h.trace.expect(this.lane, what);
    for (;;) {
      while (this.inbox.length > 0) {
        const m = this.inbox.shift()!;
        if (m.type === type && match(m.value)) {
          handle.done();
          return m.value;
        }
        if (m.type !== T6.HEARTBEAT) seen.push(`${this.typeName(m.type)} ${show(m.value, 160)}`);
      }
      const yours = this.yours();
      if (yours?.exit) {
        const error = new GradeFailure(`replica ${this.id} (played by the grader) waited for ${what}, but your replica stopped: ${describeExit(yours.exit)}${yours.tailText()}`);
        handle.done(error);
        throw error;
      }
      const left = end - Date.now();
      if (left <= 0) {
        const error = new GradeFailure(
          `replica ${this.id} (played by the grader) waited ${seconds(wait)} for ${what}` +
            (seen.length ? `; your replica sent it, besides HEARTBEATs: ${seen.slice(-5).join('; ')}` : '; your replica sent it nothing but HEARTBEATs'),
        );
        handle.done(error);
        throw error;
      }
      await Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), delay(Math.min(left, 200))]);
    }
  }

  /** Requires that no message of `type` that `match` accepts comes for `ms`. */
  async expectNone(type: number, ms: number, what: string, match: (v: ValueMap) => boolean = () => true): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      while (this.inbox.length > 0) {
        const m = this.inbox.shift()!;
        if (m.type === type && match(m.value)) throw new GradeFailure(`replica ${this.id} (played by the grader) got ${this.typeName(m.type)} ${show(m.value, 200)} from your replica: ${what}`);
      }
      const left = end - Date.now();
      if (left <= 0) return;
      await Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), delay(Math.min(left, 200))]);
    }
  }

  async close(): Promise<void> {
    this.stopRepeating();
    this.out?.destroy();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Your replica 1 among grader replicas 2 to N. */
export class Scripted<R extends GraderReplica = GraderReplica> {
  yours: Proc | undefined;
  readonly others: R[] = [];
  dir = '';

  protected constructor(
    protected readonly h: Harness,
    readonly size: number,
  ) {}

  /** `dir` names replica 1's data directory, for a test that plays several clusters one after another. */
  static async create(h: Harness, size: number, dir = 'replica-1'): Promise<Scripted> {
    const s = new Scripted(h, size);
    return s.open(dir, (id) => new GraderReplica(h, id, () => s.yours));
  }

  /** Makes replica 1's data directory and replicas 2 to N, listening. */
  protected async open(dir: string, make: (id: number) => R): Promise<this> {
    this.dir = this.h.dataDir(dir);
    for (let id = 2; id <= this.size; id++) {
      const other = make(id);
      await other.listen();
      this.others.push(other);
    }
    return this;
  }

  replica(id: number): R {
    return this.others.find((o) => o.id === id)!;
  }

  /** Writes your replica's log, as if it had run before. */
  writeLog(entries: LogEntry[]): void {
    writeDataFile(path.join(this.dir, 'log'), logBytes(entries));
  }

  /** Starts your replica 1 with --peers naming the grader's replicas, and connects them to it. */
  async start(options: { heartbeatMs: number; timeoutMs: number }): Promise<Proc> {
    const peers = this.others.map((o) => `${o.id}=127.0.0.1:${o.port}`).join(',');
    this.yours = await this.h.start('replica', { name: 'replica 1', params: { id: 1, peers, data: this.dir, heartbeatMs: options.heartbeatMs, timeoutMs: options.timeoutMs }, readyTimeoutMs: 20_000 });
    for (const other of this.others) await other.connect(this.yours.port!);
    return this.yours;
  }

  /** Your replica killed (-9) and started again on its directory; the grader's replicas connect again. */
  async restart(): Promise<void> {
    await this.yours!.kill('SIGKILL');
    await this.yours!.start();
    for (const other of this.others) {
      other.clear();
      await other.connect(this.yours!.port!);
    }
  }
}
