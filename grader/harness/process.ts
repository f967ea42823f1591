// A program under test, run as a real OS process in its own process group. Its stdout and
// stderr go to a log file (capped) and to a short in-memory tail for explanations; its stdout
// lines can also be awaited, for programs whose output is graded (clients).
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { GroupRegistry, isWindows, killGroup } from './groups.js';
import { quote } from './show.js';
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
  cwd: string;
  env?: Record<string, string>;
  /** The port the program was told to listen on; the process is ready when it accepts there. */
  port?: number;
  readyTimeoutMs?: number;
  logFile: string;
  logCapBytes: number;
  registry: GroupRegistry;
  transcript?: Transcript;
}

const tailLines = 40;
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
  private tail: { stream: 'stdout' | 'stderr'; line: string }[] = [];
  private stdoutLines: string[] = [];
  private stdoutRead = 0;
  private stdoutWake = deferred<void>();
  private log: WriteStream | undefined;
  private logged = 0;
  private stopping = false;
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

  get commandLine(): string {
    return this.options.command.map((part) => (/\s/.test(part) ? JSON.stringify(part) : part)).join(' ');
  }

  /** Starts the process and, if it has a port, waits until it accepts a TCP connection. */
  async start(): Promise<void> {
    this.spawn();
    if (this.options.port !== undefined) await this.waitReady(this.options.port);
  }

  private spawn(): void {
    const { command, cwd, env, logFile, registry } = this.options;
    mkdirSync(path.dirname(logFile), { recursive: true });
    this.log = createWriteStream(logFile, { flags: 'a' });
    this.log.on('error', () => undefined);
    this.logged = 0;
    this.writeLog(`# ${new Date().toISOString()} started: ${this.commandLine}\n# in ${cwd}\n`);
    this.status = undefined;
    this.exitWait = deferred<ExitStatus>();
    this.stopping = false;
    this.paused = false;
    const [file, ...args] = command;
    const child = execa(file, args, {
      cwd,
      env: { ...env, FORCE_COLOR: '0' },
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
    child.stdin?.on('error', () => undefined);
    this.readLines(child.stdout!, 'stdout');
    this.readLines(child.stderr!, 'stderr');
    child.once('error', (error: Error) => this.finish({ code: null, signal: null, error: explainSpawnError(error, file) }));
    child.once('exit', (code: number | null, signal: NodeJS.Signals | null) => this.finish({ code, signal }));
  }

  private finish(status: ExitStatus): void {
    if (this.status) return;
    this.status = status;
    this.writeLog(`# ${describeExit(status)}\n`);
    if (!this.stopping) this.options.transcript?.note(`${this.name}: ${describeExit(status)}`);
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

  private readLines(stream: NodeJS.ReadableStream, kind: 'stdout' | 'stderr'): void {
    let partial = '';
    stream.setEncoding('utf8');
    const take = (line: string) => {
      if (line.trim() === '') return;
      const cut = line.length > maxLineChars ? `${line.slice(0, maxLineChars)}…` : line;
      this.tail.push({ stream: kind, line: cut });
      if (this.tail.length > tailLines) this.tail.shift();
      this.writeLog(`${kind} | ${cut}\n`);
      if (kind === 'stdout') {
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
    });
    stream.on('error', () => undefined);
  }

  /** Polls until the port accepts a connection, the process exits, or the deadline passes. */
  async waitReady(port: number): Promise<void> {
    const timeoutMs = scaled(this.options.readyTimeoutMs ?? 5_000);
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (this.status) {
        throw new GradeFailure(`${this.name} stopped before it accepted a connection on port ${port}: ${describeExit(this.status)}${this.tailText()}`);
      }
      if (await canConnect(port)) {
        this.options.transcript?.note(`${this.name} accepts connections on port ${port}`);
        return;
      }
      if (Date.now() >= end) {
        throw new NeverReady(`${this.name} did not accept a connection on port ${port} within ${seconds(timeoutMs)}; ${describeExit(this.status)}${this.tailText()}`);
      }
      await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
  }

  /** The last lines the process printed, as an indented block (empty if it printed nothing). */
  tailText(n = 12): string {
    const lines = this.lastLines(n);
    if (lines.length === 0) return '; it printed nothing';
    return `; its last output lines:\n${lines.map((l) => `    ${l}`).join('\n')}`;
  }

  /** The last `n` lines of output, each tagged with the program's name and stream. */
  lastLines(n = 12): string[] {
    return this.tail.slice(-n).map(({ stream, line }) => `[${this.name}${stream === 'stderr' ? ' stderr' : ''}] ${line}`);
  }

  /** The last lines it printed on standard error. */
  stderrLines(): string[] {
    return this.tail.filter((t) => t.stream === 'stderr').map((t) => t.line);
  }

  /** All output lines kept in memory (both streams), for finding a TODO marker. */
  outputText(): string {
    return this.tail.map((t) => t.line).join('\n');
  }

  /** Writes to the process's standard input. */
  send(text: string): void {
    this.options.transcript?.sent(`${this.name} stdin`, text);
    this.child?.stdin?.write(text);
  }

  /** Closes the process's standard input (end of input, as Ctrl+D at a terminal). */
  endInput(): void {
    this.options.transcript?.note(`${this.name}: standard input closed`);
    this.child?.stdin?.end();
  }

  /** Waits for the next stdout line (after those already read) that equals or matches `expected`. */
  async expectOutput(expected: string | RegExp, options: { timeoutMs?: number; what?: string } = {}): Promise<string> {
    const shown = typeof expected === 'string' ? quote(expected) : String(expected);
    const what = options.what ?? `the line ${shown} on its standard output`;
    const timeoutMs = scaled(options.timeoutMs ?? 5_000);
    const matches = (line: string) => (typeof expected === 'string' ? line.trimEnd() === expected : expected.test(line));
    let expired = false;
    const loop = async (): Promise<string> => {
      for (;;) {
        const wake = this.stdoutWake.promise;
        while (this.stdoutRead < this.stdoutLines.length) {
          const line = this.stdoutLines[this.stdoutRead++]!;
          if (matches(line)) return line;
        }
        if (this.status || expired) throw new GradeFailure(`${this.name} did not print ${what}: ${describeExit(this.status)}${this.tailText()}`);
        await wake;
      }
    };
    return withDeadline(loop(), timeoutMs, () => {
      expired = true;
      return `${this.name} did not print ${what} within ${seconds(timeoutMs)}; ${describeExit(this.status)}${this.tailText()}`;
    });
  }

  /** Waits for the process to exit on its own; `code` 'nonzero' accepts any failure code. */
  async expectExit(code: number | 'nonzero', options: { timeoutMs?: number; what?: string } = {}): Promise<ExitStatus> {
    const timeoutMs = scaled(options.timeoutMs ?? 5_000);
    const what = options.what ?? (code === 'nonzero' ? 'to exit with an error code' : `to exit with code ${code}`);
    const status = await withDeadline(this.exited, timeoutMs, () => `expected ${this.name} ${what} within ${seconds(timeoutMs)}, but it is still running${this.tailText()}`);
    const ok = code === 'nonzero' ? status.code !== null && status.code !== 0 : status.code === code;
    if (!ok) throw new GradeFailure(`expected ${this.name} ${what}, but ${describeExit(status)}${this.tailText()}`);
    return status;
  }

  /** Sends a signal to the whole process group. SIGKILL and SIGTERM wait (bounded) for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    this.options.transcript?.note(`grader sends ${signal} to ${this.name}`);
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
    killGroup(pid, 'SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    this.options.transcript?.note(`grader resumes ${this.name} (SIGCONT)`);
    killGroup(pid, 'SIGCONT');
    this.paused = false;
  }

  /** Stops the process (if running) and starts it again with the same command and port. */
  async restart(): Promise<void> {
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
