// The grader's side of a TCP connection. A Conn reads into its own buffer and answers
// expectations with deadlines: a line, some bytes, the connection closing, or silence.
// When an expectation fails it says what was expected, what arrived (as a diff), and what
// state the connection is in. The same class wraps sockets the grader dials and sockets a
// fake server accepts. With a trace, everything it sends, receives and waits for is recorded.
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { bytes, quote, textDiff, hexDiff } from './show.js';
import type { ExpectHandle, TraceLink } from './trace.js';
import type { Transcript } from './transcript.js';
import { GradeFailure, bounded, deferred, scaled, seconds, withDeadline } from './wait.js';

export interface ExpectOptions {
  /** Deadline in milliseconds (before SWITCHBOARD_TIME_SCALE). */
  timeoutMs?: number;
  /** What the wait is for, in the student's terms: "the echo of line 3". */
  what?: string;
}

const defaultTimeoutMs = 5_000;
/** Above this many unread bytes the socket is paused, so a flooding peer cannot exhaust memory. */
const readCap = 32 * 1024 * 1024;
const maxLineBytes = 1024 * 1024;

export class Conn {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private closed = false;
  private error: NodeJS.ErrnoException | undefined;
  private wake = deferred<void>();
  /** The expectation being recorded, so that one made of others (expectLine reads a line) counts once. */
  private waiting: ExpectHandle | undefined;

  constructor(
    readonly socket: net.Socket,
    readonly name: string,
    private readonly transcript?: Transcript,
    private readonly trace?: TraceLink,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      this.transcript?.received(this.name, chunk);
      this.trace?.received(chunk);
      if (this.buffered > readCap) socket.pause();
      this.notify();
    });
    socket.on('end', () => {
      this.ended = true;
      this.transcript?.note(`${this.name}: the other side closed the connection`);
      this.trace?.event('eof', 'the other side closed the connection (FIN)');
      this.notify();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.error = error;
      this.transcript?.trouble(`${this.name}: ${error.code ?? error.message}`);
      this.trace?.event('error', error.code === 'ECONNRESET' ? 'the connection was reset by the other side' : (error.code ?? error.message), true);
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  /** Dials host:port, with a deadline and a clear message when nothing answers. */
  static async connect(
    port: number,
    options: { host?: string; name?: string; transcript?: Transcript; timeoutMs?: number; describeTarget?: () => string; trace?: TraceLink; halfOpen?: boolean } = {},
  ): Promise<Conn> {
    const host = options.host ?? '127.0.0.1';
    const name = options.name ?? 'client';
    // Half-open: the other side's FIN ends only its direction, and ours stays open until end().
    const socket = net.connect({ port, host, allowHalfOpen: options.halfOpen ?? false });
    const connected = new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const timeoutMs = scaled(options.timeoutMs ?? defaultTimeoutMs);
    try {
      await withDeadline(connected, timeoutMs, () => `${name} could not connect to ${host}:${port} within ${seconds(timeoutMs)}`);
    } catch (error) {
      socket.destroy();
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'ECONNREFUSED' ? 'connection refused (nothing is listening on that port)' : (error as Error).message;
      const target = options.describeTarget?.() ?? '';
      throw new GradeFailure(`${name} could not connect to ${host}:${port}: ${reason}${target ? `; ${target}` : ''}`);
    }
    options.transcript?.note(`${name} connected to port ${port}`);
    options.trace?.event('connect', `connected to port ${port}`);
    const conn = new Conn(socket, name, options.transcript, options.trace);
    return conn;
  }

  /** This connection's lane in the test's trace. */
  get traceLane() {
    return this.trace?.lane;
  }

  /** Runs one expectation, recorded in the trace with its outcome (an outer one only). */
  private async expecting<T>(what: string, run: () => Promise<T>): Promise<T> {
    if (!this.trace || this.waiting) return run();
    const handle = (this.waiting = this.trace.expect(what));
    try {
      const value = await run();
      handle.done();
      return value;
    } catch (error) {
      handle.done(error);
      throw error;
    } finally {
      this.waiting = undefined;
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = deferred<void>();
    wake.resolve();
  }

  private peek(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private take(n: number): Buffer {
    const all = this.peek();
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    if (this.buffered <= readCap && this.socket.isPaused()) this.socket.resume();
    return Buffer.from(out);
  }

  /** How the connection stands, for messages: "still open", "closed by the other side", ... */
  state(): string {
    if (this.error) return this.error.code === 'ECONNRESET' ? 'the connection was reset by the other side' : `the connection failed: ${this.error.message}`;
    if (this.ended) return 'the other side closed the connection';
    if (this.closed) return 'the connection is closed';
    return 'the connection is still open';
  }

  private get finished(): boolean {
    return this.ended || this.closed || this.error !== undefined;
  }

  /** Bytes received and not yet read. */
  get unread(): number {
    return this.buffered;
  }

  /** Waits until `ready` returns a value, new data arrives and is checked each time, or the deadline. */
  private async until<T>(ready: () => T | undefined, options: ExpectOptions, explain: () => string): Promise<T> {
    const timeoutMs = scaled(options.timeoutMs ?? defaultTimeoutMs);
    let expired = false;
    const loop = async (): Promise<T> => {
      for (;;) {
        if (expired) throw new GradeFailure('expired');
        const wake = this.wake.promise;
        const value = ready();
        if (value !== undefined) return value;
        if (this.finished) throw new GradeFailure(explain() + `, but ${this.state()}`);
        await wake;
      }
    };
    return withDeadline(loop(), timeoutMs, () => {
      expired = true;
      return `${explain()} within ${seconds(timeoutMs)}; ${this.state()}`;
    });
  }

  /** Resolves when everything written so far has been handed to the operating system. */
  private flushed: Promise<void> = Promise.resolve();

  /** Sends `data`, not waiting for it to go out. */
  send(data: Buffer | string): void {
    void this.write(data);
  }

  /** Sends `data`; resolves true once the operating system has taken all of it, false if the write failed. */
  write(data: Buffer | string): Promise<boolean> {
    this.transcript?.sent(this.name, data);
    this.trace?.sent(data);
    const written = new Promise<boolean>((resolve) => this.socket.write(data, (error) => resolve(!error)));
    this.flushed = written.then(() => undefined);
    return written;
  }

  /** Sends `data` in pieces of `size` bytes, each written on its own, so they tend to arrive in separate reads. */
  async sendInPieces(data: Buffer | string, size = 1, gapMs = 1): Promise<void> {
    const all = Buffer.from(data);
    this.transcript?.sent(this.name, all);
    this.transcript?.note(`${this.name} sends those ${bytes(all.length)} in pieces of ${size}`);
    for (let at = 0; at < all.length; at += size) {
      this.trace?.sent(all.subarray(at, at + size));
      this.socket.write(all.subarray(at, at + size));
      await delay(gapMs);
    }
  }

  /** Reads exactly `n` bytes. */
  async readBytes(n: number, options: ExpectOptions = {}): Promise<Buffer> {
    return this.expecting(options.what ?? bytes(n), () => this.readBytesNow(n, options));
  }

  private async readBytesNow(n: number, options: ExpectOptions): Promise<Buffer> {
    const what = options.what ?? bytes(n);
    await this.until(() => (this.buffered >= n ? true : undefined), options, () => {
      const got = this.buffered === 0 ? 'nothing' : `only ${bytes(this.buffered)}`;
      return `${this.name} waited for ${what} and got ${got}`;
    });
    return this.take(n);
  }

  /** Reads bytes and requires them to equal `expected`, with a hex diff when they do not. */
  async expectBytes(expected: Buffer, options: ExpectOptions = {}): Promise<void> {
    return this.expecting(options.what ?? bytes(expected.length), () => this.expectBytesNow(expected, options));
  }

  private async expectBytesNow(expected: Buffer, options: ExpectOptions): Promise<void> {
    const what = options.what ?? bytes(expected.length);
    try {
      await this.until(() => (this.buffered >= expected.length || hexMismatch(expected, this.peek()) ? true : undefined), options, () => `${this.name} waited for ${what}`);
    } catch (error) {
      const got = this.take(this.buffered);
      if (got.length === 0) throw error;
      throw new GradeFailure(`${(error as Error).message}; what arrived:\n${hexDiff(expected, got)}`);
    }
    if (!this.peek().subarray(0, expected.length).equals(expected)) {
      const got = this.take(this.buffered);
      throw new GradeFailure(`${this.name} expected ${what} and got different bytes:\n${hexDiff(expected, got)}`);
    }
    this.take(expected.length);
  }

  /** Reads one line, without its '\n'. A '\r' before it is kept: the caller decides. */
  async readLine(options: ExpectOptions = {}): Promise<string> {
    return this.expecting(options.what ?? 'a line', () => this.readLineNow(options));
  }

  private async readLineNow(options: ExpectOptions): Promise<string> {
    const what = options.what ?? 'a line';
    const index = await this.until(
      () => {
        const at = this.peek().indexOf(0x0a);
        if (at >= 0) return at;
        if (this.buffered > maxLineBytes) throw new GradeFailure(`${this.name} waited for ${what}, but got ${bytes(this.buffered)} with no newline`);
        return undefined;
      },
      options,
      () => {
        const partial = this.peek().toString('utf8');
        return `${this.name} waited for ${what}` + (partial ? ` and got only ${quote(partial)} with no newline` : ' and got nothing');
      },
    );
    return this.take(index + 1).subarray(0, index).toString('utf8');
  }

  /** Reads one line and requires it to equal `expected` (or match it, for a RegExp). */
  async expectLine(expected: string | RegExp, options: ExpectOptions = {}): Promise<string> {
    const shown = typeof expected === 'string' ? quote(expected) : String(expected);
    return this.expecting(options.what ?? `the line ${shown}`, () => this.expectLineNow(expected, shown, options));
  }

  private async expectLineNow(expected: string | RegExp, shown: string, options: ExpectOptions): Promise<string> {
    const line = await this.readLine({ ...options, what: options.what ?? `the line ${shown}` });
    const ok = typeof expected === 'string' ? line === expected : expected.test(line);
    if (!ok) {
      const what = options.what ?? 'a line';
      const detail = typeof expected === 'string' ? textDiff(expected, line) : `expected a line matching ${shown}\ngot ${quote(line)}`;
      throw new GradeFailure(`${this.name} got the wrong line for ${what}:\n${detail}`);
    }
    return line;
  }

  /** Requires the other side to close the connection, with no further data first. */
  async expectClosed(options: ExpectOptions & { allowData?: boolean } = {}): Promise<void> {
    return this.expecting(options.what ?? 'the other side to close the connection', () => this.expectClosedNow(options));
  }

  private async expectClosedNow(options: ExpectOptions & { allowData?: boolean }): Promise<void> {
    const what = options.what ?? 'the other side to close the connection';
    const timeoutMs = scaled(options.timeoutMs ?? defaultTimeoutMs);
    let expired = false;
    const loop = async () => {
      for (;;) {
        if (expired) return;
        const wake = this.wake.promise;
        if (this.buffered > 0 && !options.allowData) {
          throw new GradeFailure(`${this.name} expected ${what}, but first got ${quote(this.peek().toString('utf8'))}`);
        }
        if (options.allowData) this.take(this.buffered);
        if (this.finished) return;
        await wake;
      }
    };
    await withDeadline(loop(), timeoutMs, () => {
      expired = true;
      return `${this.name} expected ${what} within ${seconds(timeoutMs)}; ${this.state()}`;
    });
  }

  /** Requires that nothing arrives for `ms` milliseconds (and the connection stays open). */
  async expectSilence(ms: number, options: { what?: string; allowClose?: boolean } = {}): Promise<void> {
    return this.expecting(`${options.what ?? 'nothing'} for ${seconds(ms)}`, () => this.expectSilenceNow(ms, options));
  }

  private async expectSilenceNow(ms: number, options: { what?: string; allowClose?: boolean }): Promise<void> {
    const what = options.what ?? 'nothing';
    const end = Date.now() + ms;
    for (;;) {
      const wake = this.wake.promise;
      if (this.buffered > 0) {
        throw new GradeFailure(`${this.name} expected ${what} for ${seconds(ms)}, but got ${quote(this.peek().toString('utf8'))}`);
      }
      if (this.finished && !options.allowClose) throw new GradeFailure(`${this.name} expected ${what} for ${seconds(ms)}, but ${this.state()}`);
      const left = end - Date.now();
      if (left <= 0) return;
      await Promise.race([wake, delay(left)]);
    }
  }

  /** Closes our side for writing (a FIN); reading goes on. */
  end(): void {
    this.transcript?.note(`${this.name} closes its side (FIN)`);
    this.trace?.event('fin', 'the grader closes its side (FIN)');
    this.socket.end();
  }

  /**
   * Aborts the connection with a TCP reset (RST), as a crashed or unplugged peer would. It first
   * lets pending writes reach the operating system (waiting at most half a second).
   *
   * A reset that reaches the peer before the peer has read the bytes sent ahead of it can look
   * like a plain close there (seen on Linux). A test that needs the peer to see a reset waits
   * for a sign that the peer has read what was sent, such as its answer, and resets after that.
   */
  async reset(): Promise<void> {
    await bounded(this.flushed, 500);
    this.transcript?.note(`${this.name} resets the connection (RST)`);
    this.trace?.event('reset', 'the grader resets the connection (RST)');
    this.socket.resetAndDestroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function hexMismatch(expected: Buffer, got: Buffer): boolean {
  const n = Math.min(expected.length, got.length);
  return n > 0 && !got.subarray(0, n).equals(expected.subarray(0, n));
}
