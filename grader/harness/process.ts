// A program under test, run as a real OS process in its own process group. Its stdout and
// stderr go to a log file (capped) and to a short in-memory tail for explanations; its stdout
// lines can also be awaited, for programs whose output is graded (clients).
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { confineCommand, confinedEnv, exitThroughBwrap, giveTree, limitHit, watchDisk, type Confinement } from '../sandbox/index.js';
import { crashOf, type Crash } from './crash.js';
import { GroupRegistry, isWindows, killGroup } from './groups.js';
import { groupPids, isZombie, listenerOwner, processAlive } from './procfs.js';
import { quote, textDiff } from './show.js';
import type { ExpectHandle, ProcTrace } from './trace.js';
import type { Transcript } from './transcript.js';
import { GradeFailure, bounded, deferred, scaled, seconds, withDeadline } from './wait.js';

export interface ExitStatus {
  code: number | null;
  signal: string | null;
  /** Set when the process could not be started at all (command not found, ...). */
  error?: string;
}

export interface ProcOptions {
  name: string;
  /** The executable and its arguments, the program's flags included. */
  command: [string, ...string[]];
  /** Runs the program under another one (strace), outside its confinement: what it writes, the program cannot touch. */
  prefix?: string[];
  /** Grading others' code: how the program is confined (grader/sandbox). */
  confinement?: Confinement;
  cwd: string;
  env?: Record<string, string>;
  /** The port the program was told to listen on; the process is ready when it accepts there. */
  port?: number;
  readyTimeoutMs?: number;
  logFile: string;
  logCapBytes: number;
  registry: GroupRegistry;
  transcript?: Transcript;
  /** Its lane in the test's trace: starts, exits, signals, its standard input and output. */
  trace?: ProcTrace;
}

const tailLines = 40;
/** Standard error kept whole for longer than the tail, so that a crash's cause is not cut off. */
const keptStderrLines = 300;
const keptStdoutLines = 2_000;
const maxLineChars = 2_000;
const termGraceMs = 1_000;

export function describeExit(status: ExitStatus | undefined): string {
  if (!status) return 'it is still running';
  if (status.error) return `it could not be started: ${status.error}`;
  if (status.signal) return `it was killed by ${status.signal}`;
  return `it exited with code ${status.code}`;
}

export class Proc {
  readonly name: string;
  private child: ResultPromise | undefined;
  private status: ExitStatus | undefined;
  private exitWait = deferred<ExitStatus>();
  /** The last lines of both streams; `seq` numbers the stderr lines, so a crash's report can be told apart. */
  private tail: { stream: 'stdout' | 'stderr'; line: string; seq: number; run: number }[] = [];
  /** How many times the process was started: 1 for the first run, 2 after a restart, ... */
  private runs = 0;
  private stderrKept: string[] = [];
  private stderrCount = 0;
  private stdoutLines: string[] = [];
  /** Resolves when both output streams have ended: everything the process printed is in. */
  private outputEnded: Promise<unknown> = Promise.resolve();
  private stdoutRead = 0;
  private stdoutWake = deferred<void>();
  private log: WriteStream | undefined;
  /** When the process last printed anything (Date.now()). */
  private lastOutputAt = 0;
  private logged = 0;
  private stopping = false;
  /** A limit the grader enforced itself (the disk), when it stopped the program for it. */
  private limitStop: string | undefined;
  private stopWatch: () => void = () => undefined;
  paused = false;

  constructor(private readonly options: ProcOptions) {
    this.name = options.name;
  }

  get port(): number | undefined {
    return this.options.port;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get exit(): ExitStatus | undefined {
    return this.status;
  }

  get exited(): Promise<ExitStatus> {
    return this.exitWait.promise;
  }

  get logFile(): string {
    return this.options.logFile;
  }

  /** This program's lane in the test's trace. */
  get traceLane() {
    return this.options.trace?.lane;
  }

  /** Runs one expectation on this program, recorded in the trace with its outcome. */
  private async expecting<T>(what: string, run: () => Promise<T>): Promise<T> {
    const handle: ExpectHandle | undefined = this.options.trace?.expect(what);
    try {
      const value = await run();
      handle?.done();
      return value;
    } catch (error) {
      handle?.done(error);
      throw error;
    }
  }

  get commandLine(): string {
    return [...(this.options.prefix ?? []), ...this.options.command].map((part) => (/\s/.test(part) ? JSON.stringify(part) : part)).join(' ');
  }

  /** Starts the process and, if it has a port, waits until it accepts a TCP connection. */
  async start(options: { ready?: boolean } = {}): Promise<void> {
    this.spawn();
    if (this.options.port !== undefined && options.ready !== false) await this.waitReady(this.options.port);
  }

  private spawn(): void {
    const { command, cwd, env, logFile, registry } = this.options;
    mkdirSync(path.dirname(logFile), { recursive: true });
    this.log = createWriteStream(logFile, { flags: 'a' });
    this.log.on('error', () => undefined);
    this.logged = 0;
    this.writeLog(`# ${new Date().toISOString()} started: ${this.commandLine}\n# in ${cwd}\n`);
    this.runs++;
    this.status = undefined;
    this.exitWait = deferred<ExitStatus>();
    this.stopping = false;
    this.paused = false;
    const confined = this.options.confinement;
    // What the grader wrote in a data folder (a log to recover) must be the program's to change.
    if (confined?.plan.user) for (const dir of confined.writable) giveTree(dir, confined.plan.user);
    const [file, ...args] = [...(this.options.prefix ?? []), ...(confined ? confineCommand(confined, command, cwd) : command)] as [string, ...string[]];
    this.limitStop = undefined;
    const child = execa(file, args, {
      cwd,
      // Confined, a program gets none of the grader's environment (its configuration names the kit's folders).
      env: confined ? confinedEnv(confined, env) : { ...env, FORCE_COLOR: '0' },
      extendEnv: !confined,
      // Its own process group, so that the whole group can be killed at the end (see groups.ts).
      detached: !isWindows,
      cleanup: false,
      buffer: false,
      reject: false,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      windowsHide: true,
      stripFinalNewline: false,
    });
    this.child = child;
    child.catch(() => undefined);
    const pid = child.pid;
    if (pid !== undefined) registry.record(pid, this.commandLine);
    this.options.transcript?.note(`started ${this.name}: ${this.commandLine}`);
    this.options.trace?.event('start', `started${child.pid === undefined ? '' : ` (pid ${child.pid})`}: ${this.commandLine}`);
    child.stdin?.on('error', () => undefined);
    this.stderrKept = [];
    this.stderrCount = 0;
    this.outputEnded = Promise.all([this.readLines(child.stdout!, 'stdout'), this.readLines(child.stderr!, 'stderr')]);
    child.once('error', (error: Error) => this.finish({ code: null, signal: null, error: explainSpawnError(error, file) }));
    child.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      if (!confined?.plan.bwrap || pid === undefined) return this.finish({ code, signal });
      // bubblewrap's monitor ends first when the group is killed; the program may still be a
      // zombie for a moment, and a restarted server would take it for the live holder of its
      // lock. The run ends when the group has no process left (bounded).
      const status = exitThroughBwrap(code, signal);
      const end = Date.now() + 1_000;
      const check = () => {
        if ((groupPids(pid)?.length ?? 0) === 0 || Date.now() > end) this.finish(status);
        else setTimeout(check, 10);
      };
      check();
    });
    this.stopWatch();
    if (confined && pid !== undefined) {
      const { limits, bwrap } = confined.plan;
      this.stopWatch = watchDisk([...confined.writable, ...(bwrap ? [] : [confined.home])], limits.diskBytes, () => {
        this.limitStop = `disk limit ${Math.round(limits.diskBytes / 2 ** 20)} MiB (its folders hold more)`;
        this.writeLog(`# stopped by the grader: ${this.limitStop}\n`);
        this.options.transcript?.trouble(`${this.name}: stopped, ${this.limitStop}`);
        killGroup(pid, 'SIGKILL');
      });
    }
  }

  /** The limit of its confinement the program ran into, if it did ("memory limit 1 GiB"). */
  limitNote(): string | undefined {
    const confined = this.options.confinement;
    if (!confined) return undefined;
    return this.limitStop ?? limitHit(confined.plan.limits, this.status, this.stderrKept);
  }

  /** How it ended, with the limit it ran into. */
  exitText(): string {
    const note = this.limitNote();
    return `${describeExit(this.status)}${note ? ` (killed or stopped by the sandbox: ${note})` : ''}`;
  }

  private finish(status: ExitStatus): void {
    if (this.status) return;
    this.status = status;
    this.stopWatch();
    this.writeLog(`# ${describeExit(status)}\n`);
    if (!this.stopping) {
      // A program that ends on its own with an error, or by a signal the grader did not send, is news.
      const bad = status.error !== undefined || status.signal !== null || status.code !== 0;
      if (bad) this.options.transcript?.trouble(`${this.name}: ${describeExit(status)}`);
      else this.options.transcript?.note(`${this.name}: ${describeExit(status)}`);
      this.options.trace?.event('exit', describeExit(status), bad);
    } else this.options.trace?.event('exit', `${describeExit(status)} (the grader stopped it)`);
    this.exitWait.resolve(status);
    const wake = this.stdoutWake;
    this.stdoutWake = deferred<void>();
    wake.resolve();
  }

  private writeLog(text: string): void {
    if (!this.log) return;
    const cap = this.options.logCapBytes;
    if (this.logged >= cap) return;
    this.logged += Buffer.byteLength(text);
    this.log.write(text);
    if (this.logged >= cap) this.log.write(`\n# log truncated: over ${cap} bytes\n`);
  }

  private readLines(stream: NodeJS.ReadableStream, kind: 'stdout' | 'stderr'): Promise<void> {
    const ended = deferred<void>();
    let partial = '';
    stream.setEncoding('utf8');
    const take = (line: string) => {
      const cut = line.length > maxLineChars ? `${line.slice(0, maxLineChars)}…` : line;
      const blank = line.trim() === '';
      const seq = kind === 'stderr' && !blank ? this.stderrCount++ : -1;
      // A blank line is not worth a place in the tail, but a strict reading of stdout counts it.
      if (!blank) {
        this.tail.push({ stream: kind, line: cut, seq, run: this.runs });
        if (this.tail.length > tailLines) this.tail.shift();
      }
      this.writeLog(`${kind} | ${cut}\n`);
      if (kind === 'stderr' && line.trim() !== '') {
        this.stderrKept.push(cut);
        if (this.stderrKept.length > keptStderrLines) this.stderrKept.shift();
      }
      if (kind === 'stdout') {
        this.options.trace?.stdout(cut);
        this.stdoutLines.push(cut);
        if (this.stdoutLines.length > keptStdoutLines) {
          this.stdoutLines.shift();
          this.stdoutRead = Math.max(0, this.stdoutRead - 1);
        }
        const wake = this.stdoutWake;
        this.stdoutWake = deferred<void>();
        wake.resolve();
      }
    };
    let seen = 0;
    stream.on('data', (chunk: string) => {
      this.lastOutputAt = Date.now();
      seen += chunk.length;
      // Past the log cap a program is flooding: keep only the end of each chunk for the tail,
      // so the grader's work and memory stay bounded however fast it prints.
      if (seen > this.options.logCapBytes && chunk.length > 4096) {
        partial = '';
        chunk = chunk.slice(chunk.indexOf('\n', chunk.length - 4096) + 1);
      }
      partial += chunk;
      let at: number;
      while ((at = partial.indexOf('\n')) >= 0) {
        take(partial.slice(0, at).replace(/\r$/, ''));
        partial = partial.slice(at + 1);
      }
      // A program that prints without newlines must not grow this buffer without bound.
      if (partial.length > maxLineChars) {
        take(partial);
        partial = '';
      }
    });
    stream.on('end', () => {
      if (partial) take(partial);
      partial = '';
      ended.resolve();
    });
    stream.on('close', () => ended.resolve());
    stream.on('error', () => ended.resolve());
    return ended.promise;
  }

  /**
   * Polls until the port accepts a connection, the process exits, or the deadline passes. A
   * connection proves the port is open, not who opened it: where the OS can tell (Linux), the
   * listening socket must belong to this process's group, or the port is someone else's.
   */
  async waitReady(port: number): Promise<void> {
    const timeoutMs = scaled(this.options.readyTimeoutMs ?? 5_000);
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (this.status) {
        throw new GradeFailure(`${this.name} stopped before it accepted a connection on port ${port}: ${describeExit(this.status)}${this.tailText()}`);
      }
      if (await canConnect(port)) {
        const pid = this.child?.pid;
        if (pid !== undefined && !isWindows && (await this.listenerIsSomeoneElses(port, pid))) {
          throw new PortTaken(port, `port ${port} accepted a connection, but the program listening there is not ${this.name} (process group ${pid})`);
        }
        this.options.transcript?.note(`${this.name} accepts connections on port ${port}`);
        this.options.trace?.event('ready', `accepts connections on port ${port}`);
        return;
      }
      if (Date.now() >= end) {
        throw new NeverReady(`${this.name} did not accept a connection on port ${port} within ${seconds(timeoutMs)}; ${describeExit(this.status)}${this.tailText()}`);
      }
      await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
  }

  /**
   * True only when the OS shows, twice, a listener on `port` that no process of this group holds.
   * A program that dies as it accepts (a starter's TODO throws on the grader's first connection)
   * has already let go of its descriptors while its listening socket is still being torn down:
   * that listener was the program's own, and its crash is for the test to report.
   */
  private async listenerIsSomeoneElses(port: number, pgid: number): Promise<boolean> {
    for (let look = 0; look < 2; look++) {
      if (listenerOwner(port, pgid) !== 'theirs') return false;
      await bounded(this.exited, 100);
      if (this.status || !processAlive(pgid) || isZombie(pgid)) return false;
    }
    return true;
  }

  /**
   * Waits (bounded) until what the process did is all in: its exit status if it is dying, and
   * every line it printed. A report written before then can say "still running, printed
   * nothing" of a program that had crashed.
   */
  async settle(): Promise<void> {
    const pid = this.child?.pid;
    if (!this.status && pid !== undefined) {
      // A running process gets a short grace in case it is in the middle of dying; a zombie or
      // a vanished pid has exited, and its exit event is on the way.
      await bounded(this.exited, 500);
      // Still printing is a sign of a program writing its last words (a stack trace): wait on
      // while the output flows, up to 3 s in all. "Flows" allows a second's pause: on a loaded
      // machine a dying runtime can take that long between its last log line and its report.
      for (let waited = 500; !this.status && waited < 3_000 && Date.now() - this.lastOutputAt < 1_000; waited += 100) await bounded(this.exited, 100);
      if (!this.status && (!processAlive(pid) || isZombie(pid))) await bounded(this.exited, 3_000);
    }
    if (this.status) await bounded(this.outputEnded, 1_000);
  }

  /** The uncaught exception (or Python traceback) the process died of, read from its standard error. */
  crash(): Crash | undefined {
    return crashOf(this.stderrKept, this.options.cwd);
  }

  /**
   * The last lines the process printed, as an indented block (empty if it printed nothing). A
   * crash is told in one line, with the lines printed before it, not its stack trace.
   */
  tailText(n = 12): string {
    const note = this.limitNote();
    return `${note ? `; it ran into the sandbox's ${note}` : ''}${this.tailOnly(n)}`;
  }

  private tailOnly(n: number): string {
    const crash = this.crash();
    const lines = this.lastLines(crash ? 6 : n, { beforeCrash: true });
    if (crash) return `; it crashed: ${crash.summary}${lines.length ? `; its last lines before that:\n${lines.map((l) => `    ${l}`).join('\n')}` : ''}`;
    if (lines.length === 0) return '; it printed nothing';
    return `; its last output lines:\n${lines.map((l) => `    ${l}`).join('\n')}`;
  }

  /** The last `n` lines of output, each tagged with the program's name and stream; `beforeCrash` leaves out a crash's report. */
  lastLines(n = 12, options: { beforeCrash?: boolean } = {}): string[] {
    let tail = this.tail;
    const crash = options.beforeCrash ? this.crash() : undefined;
    if (crash) {
      const from = this.stderrCount - this.stderrKept.length + crash.start;
      tail = tail.filter((t) => t.stream !== 'stderr' || t.run !== this.runs || t.seq < from);
    }
    return tail.slice(-n).map(({ stream, line }) => `[${this.name}${stream === 'stderr' ? ' stderr' : ''}] ${line}`);
  }

  /** The last lines it printed on standard error since it was last started (a restart starts afresh). */
  stderrLines(): string[] {
    return this.tail.filter((t) => t.stream === 'stderr' && t.run === this.runs).map((t) => t.line);
  }

  /** All output lines kept in memory (both streams), for finding a TODO marker. */
  outputText(): string {
    return this.tail.map((t) => t.line).join('\n');
  }

  /** Writes to the process's standard input. */
  send(text: string): void {
    this.options.transcript?.sent(`${this.name} stdin`, text);
    this.options.trace?.stdin(text);
    this.child?.stdin?.write(text);
  }

  /** Closes the process's standard input (end of input, as Ctrl+D at a terminal). */
  endInput(): void {
    this.options.transcript?.note(`${this.name}: standard input closed`);
    this.options.trace?.event('eof', 'the grader closes its standard input');
    this.child?.stdin?.end();
  }

  /**
   * Waits for the next stdout line (after those already read) that equals or matches `expected`,
   * skipping any others. For output the spec does not define line by line; where it does, use
   * the strict expectNextLine / expectNextLines / expectNoMoreOutput.
   */
  async expectOutput(expected: string | RegExp, options: { timeoutMs?: number; what?: string } = {}): Promise<string> {
    const shown = typeof expected === 'string' ? quote(expected) : String(expected);
    const what = options.what ?? `the line ${shown} on its standard output`;
    const matches = (line: string) => lineMatches(line, expected);
    return this.expecting(what, async () => {
      for (;;) {
        const line = await this.nextLine({ ...options, what });
        if (matches(line)) return line;
      }
    });
  }

  /** The next unread stdout line, waiting for it with a deadline. */
  private async nextLine(options: { timeoutMs?: number; what: string }): Promise<string> {
    const timeoutMs = scaled(options.timeoutMs ?? 5_000);
    let expired = false;
    const loop = async (): Promise<string> => {
      for (;;) {
        const wake = this.stdoutWake.promise;
        if (this.stdoutRead < this.stdoutLines.length) return this.stdoutLines[this.stdoutRead++]!;
        if (expired) throw new GradeFailure('expired');
        if (this.status) {
          // Exited: wait (bounded) for the last lines still in the pipe before giving up.
          if (await bounded(this.outputEnded, 1_000) && this.stdoutRead < this.stdoutLines.length) continue;
          throw new GradeFailure(`${this.name} did not print ${options.what}: ${describeExit(this.status)}${this.tailText()}`);
        }
        await wake;
      }
    };
    return withDeadline(loop(), timeoutMs, () => {
      expired = true;
      return `${this.name} did not print ${options.what} within ${seconds(timeoutMs)}; ${describeExit(this.status)}${this.tailText()}`;
    });
  }

  /**
   * Strict: the next line on standard output must be `expected` (equal, trailing spaces aside,
   * or matching a RegExp). Lines that `allow` accepts are passed over: a named allowance for
   * lines the spec permits. Any other line fails, with a diff.
   */
  async expectNextLine(expected: string | RegExp, options: StrictOptions = {}): Promise<string> {
    const shown = typeof expected === 'string' ? quote(expected) : String(expected);
    const what = options.what ?? `the line ${shown}`;
    return this.expecting(what, () => this.nextLineIs(expected, shown, what, options));
  }

  private async nextLineIs(expected: string | RegExp, shown: string, what: string, options: StrictOptions): Promise<string> {
    for (;;) {
      const line = await this.nextLine({ timeoutMs: options.timeoutMs, what });
      if (lineMatches(line, expected)) return line;
      if (options.allow?.test(line)) continue;
      const detail = typeof expected === 'string' ? textDiff(expected, line.trimEnd()) : `expected a line matching ${shown}\ngot ${quote(line)}`;
      throw new GradeFailure(
        `${this.name} printed a line where the grader expected ${what}:\n${detail}\n` +
          `Every line on standard output must be one the spec asks for, in order${options.allow ? ` (besides ${options.allow.name})` : ''}.`,
      );
    }
  }

  /** Strict: the next lines on standard output must be exactly these, in order. */
  async expectNextLines(expected: (string | RegExp)[], options: StrictOptions = {}): Promise<string[]> {
    const got: string[] = [];
    for (const [i, line] of expected.entries()) {
      got.push(await this.expectNextLine(line, { ...options, what: options.what ? `${options.what} (line ${i + 1} of ${expected.length})` : undefined }));
    }
    return got;
  }

  /**
   * Strict: nothing more on standard output. If the process has exited, every line it printed
   * must have been read (or be allowed); if it is running, nothing new may arrive for `quietMs`.
   */
  async expectNoMoreOutput(options: StrictOptions & { quietMs?: number } = {}): Promise<void> {
    return this.expecting(`${options.what ?? 'nothing more'} on standard output`, () => this.noMoreOutput(options));
  }

  private async noMoreOutput(options: StrictOptions & { quietMs?: number }): Promise<void> {
    const what = options.what ?? 'nothing more';
    const fail = (line: string) =>
      new GradeFailure(`${this.name} printed ${quote(line)} where the grader expected ${what} on standard output${options.allow ? ` (besides ${options.allow.name})` : ''}${this.tailText()}`);
    const drain = () => {
      while (this.stdoutRead < this.stdoutLines.length) {
        const line = this.stdoutLines[this.stdoutRead++]!;
        if (!options.allow?.test(line)) throw fail(line);
      }
    };
    if (this.status) {
      await bounded(this.outputEnded, 1_000);
      drain();
      return;
    }
    const end = Date.now() + (options.quietMs ?? 300);
    for (;;) {
      const wake = this.stdoutWake.promise;
      drain();
      const left = end - Date.now();
      if (left <= 0 || this.status) break;
      await Promise.race([wake, new Promise((resolve) => setTimeout(resolve, left))]);
    }
    if (this.status) await bounded(this.outputEnded, 1_000);
    drain();
  }

  /**
   * Waits for the process to exit on its own; `code` 'nonzero' accepts any failure code. A
   * program that died of an uncaught exception has not reported an error, it has crashed: that
   * fails unless `allowCrash` is set.
   */
  async expectExit(code: number | 'nonzero', options: { timeoutMs?: number; what?: string; allowCrash?: boolean } = {}): Promise<ExitStatus> {
    const what = options.what ?? (code === 'nonzero' ? 'to exit with an error code' : `to exit with code ${code}`);
    return this.expecting(`${this.name} ${what}`, () => this.exitIs(code, what, options));
  }

  private async exitIs(code: number | 'nonzero', what: string, options: { timeoutMs?: number; allowCrash?: boolean }): Promise<ExitStatus> {
    const timeoutMs = scaled(options.timeoutMs ?? 5_000);
    const status = await withDeadline(this.exited, timeoutMs, () => `expected ${this.name} ${what} within ${seconds(timeoutMs)}, but it is still running${this.tailText()}`);
    const ok = code === 'nonzero' ? status.code !== null && status.code !== 0 : status.code === code;
    if (!ok) throw new GradeFailure(`expected ${this.name} ${what}, but ${describeExit(status)}${this.tailText()}`);
    if (!options.allowCrash) {
      await bounded(this.outputEnded, 1_000);
      const crash = this.crash();
      if (crash) {
        throw new GradeFailure(
          `expected ${this.name} ${what}, and it did exit, but by crashing: ${crash.summary}. ` +
            'A crash is not an error message: catch the error and print what the spec asks for.',
        );
      }
    }
    return status;
  }

  /** Sends a signal to the whole process group. SIGKILL and SIGTERM wait (bounded) for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    this.options.transcript?.note(`grader sends ${signal} to ${this.name}`);
    this.options.trace?.event(signal === 'SIGKILL' || signal === 'SIGTERM' ? 'kill' : 'signal', `the grader sends ${signal}`);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') this.stopping = true;
    // A stopped process cannot act on SIGTERM until it is continued.
    if (this.paused && signal !== 'SIGSTOP' && signal !== 'SIGCONT') killGroup(pid, 'SIGCONT');
    killGroup(pid, signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') await bounded(this.exited, 2_000);
  }

  /** Freezes the whole process (SIGSTOP): it stays connected but does nothing. Not on Windows. */
  pause(): void {
    if (isWindows) throw new GradeFailure('pausing a process (SIGSTOP) is not supported on Windows');
    const pid = this.child?.pid;
    if (pid === undefined) return;
    this.options.transcript?.note(`grader pauses ${this.name} (SIGSTOP)`);
    this.options.trace?.event('pause', 'the grader pauses it (SIGSTOP)');
    killGroup(pid, 'SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    this.options.transcript?.note(`grader resumes ${this.name} (SIGCONT)`);
    this.options.trace?.event('resume', 'the grader resumes it (SIGCONT)');
    killGroup(pid, 'SIGCONT');
    this.paused = false;
  }

  /**
   * Stops reading the process's standard output, as a slow terminal or pipe reader would: what it
   * prints waits in the pipe, then in its own memory. releaseOutput() reads on. A program must
   * not lose that output by exiting before it is written.
   */
  holdOutput(): void {
    this.options.transcript?.note(`grader stops reading ${this.name}'s standard output`);
    this.child?.stdout?.pause();
  }

  releaseOutput(): void {
    this.options.transcript?.note(`grader reads ${this.name}'s standard output again`);
    this.child?.stdout?.resume();
  }

  /**
   * Runs `cause` (what makes the program print `lines` and, maybe, exit) while its output is held,
   * holds it half a second more, then requires `lines`, in order, as its next output lines. The
   * half second is a fault (a slow reader), not a wait: nothing depends on its length.
   */
  async expectLinesDespiteSlowReader(cause: () => void, lines: string[], what: string): Promise<void> {
    this.holdOutput();
    try {
      cause();
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      this.releaseOutput();
    }
    for (const [i, text] of lines.entries()) {
      await this.expectNextLine(text, {
        what: `line ${i + 1} of ${lines.length} ${what}, printed although whatever reads the program's standard output was slow for a moment: a program that ends its process before its output is written (process.exit) loses what still waits`,
      });
    }
  }

  /** Stops the process (if running) and starts it again with the same command and port. */
  async restart(): Promise<void> {
    this.options.trace?.event('restart', 'the grader stops it and starts it again, on the same port');
    await this.stop();
    this.options.transcript?.note(`grader restarts ${this.name}`);
    await this.start();
  }

  /**
   * Ends the whole process group: SIGTERM, then SIGKILL after a grace period. SIGKILL goes to
   * the group even if the leader already exited, for a grandchild it left behind. Bounded.
   */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    const pid = child.pid;
    this.stopping = true;
    if (!this.status) {
      if (this.paused) killGroup(pid, 'SIGCONT');
      killGroup(pid, 'SIGTERM');
      await bounded(this.exited, termGraceMs);
    }
    killGroup(pid, 'SIGKILL');
    await bounded(this.exited, 2_000);
    // An orphan may hold the pipes open; do not wait for them to close.
    child.stdout?.destroy();
    child.stderr?.destroy();
    child.stdin?.destroy();
    this.options.registry.forget(pid);
    const log = this.log;
    this.log = undefined;
    if (log) await bounded(new Promise((resolve) => log.end(resolve)), 1_000);
  }
}

/** The readiness deadline passed while the process was still running. */
export class NeverReady extends GradeFailure {}

/** The port accepted connections, but for another program: the harness tries another port. */
export class PortTaken extends GradeFailure {
  constructor(
    readonly port: number,
    message: string,
  ) {
    super(message);
  }
}

/** Lines a strict reading passes over, with a name for messages: "a prompt", "a blank line". */
export interface Allowance {
  name: string;
  test: (line: string) => boolean;
}

export interface StrictOptions {
  timeoutMs?: number;
  what?: string;
  allow?: Allowance;
}

function lineMatches(line: string, expected: string | RegExp): boolean {
  return typeof expected === 'string' ? line.trimEnd() === expected : expected.test(line);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(1_000, () => done(false));
  });
}

function explainSpawnError(error: Error, file: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `command not found: ${file}`;
  if (code === 'EACCES') return `permission denied: ${file} is not executable`;
  return error.message;
}
