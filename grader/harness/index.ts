// The API phase tests are written against. A phase test file looks like:
//
//   const test = phase(lab, '1.2');
//   test('a 1 MiB payload comes back unchanged', { points: 5 }, async (h) => {
//     const server = await h.start();
//     const client = await h.connect(server);
//     ...
//   });
//
// `h` (a Harness) owns every process, connection, proxy and fake server the test makes, and
// tears all of them down when the test ends, however it ends. When the test fails it also
// records what the grader saw (the transcript, each process's exit and last lines, its log
// file, the spec section) for the report, and writes the test's trace (trace.ts): a
// space-time diagram of every message, process event and fault, beside the logs.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync, existsSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { beforeAll, test as vitestTest } from 'vitest';
import type { LabSpec, PhaseSpec, ProgramParams } from '../lab.js';
import { BuildFailure, buildProgram } from './build.js';
import { parseCommand } from './command.js';
import { buildDir, implDir, runConfig, type RunConfig } from './config.js';
import { ownDataDir, type Confinement } from '../sandbox/index.js';
import { GroupRegistry } from './groups.js';
import { needsTimeoutMs, selectedNeeds, waitForNeeds } from './needs.js';
import { claimPort, listenClaimed, markBusy, type PortClaim } from './ports.js';
import { connectionOwner, tcpSockets } from './procfs.js';
import { NeverReady, PortTaken, Proc, describeExit } from './process.js';
import { FaultProxy } from './proxy.js';
import { Random, testSeed } from './random.js';
import { Trace, labDecoders, traceAll, type Lane, type LaneRef } from './trace.js';
import { Transcript } from './transcript.js';
import { describeError } from '../results.js';
import { GradeFailure, bounded, scaled, seconds, withDeadline } from './wait.js';
import { Conn } from './wire.js';

export { Conn } from './wire.js';
export { Proc, type Allowance } from './process.js';
export { Random } from './random.js';
export { FaultProxy } from './proxy.js';
export { GradeFailure } from './wait.js';
export { quote, hexDump } from './show.js';
export { Trace, type TraceLink, type LaneRef, type Decoded, type StreamDecoder, type DecoderFactory } from './trace.js';

declare module 'vitest' {
  interface TaskMeta {
    lab?: number;
    phase?: string;
    points?: number;
  }
}

/** What the harness writes for a failed test; the report reads it back (grader/results.ts). */
export interface Diagnostics {
  processes: { name: string; command: string; exit: string; crash?: string; lastLines: string[]; logFile: string }[];
  /** The steps that led to the first thing that went wrong, and the last few. */
  transcript: string[];
  /** The last steps, for --verbose. */
  allSteps?: string[];
  todo?: string;
  logDir: string;
  /** The test's seed, when it made random choices: SWITCHBOARD_SEED with the run's seed replays them. */
  seed?: { run: number; test: number };
  /** Data folders the test gave its programs, kept for a look (relative to the kit's root). */
  dataDirs?: string[];
}

const config: RunConfig = runConfig();
const registry = new GroupRegistry(path.join(config.root, '.switchboard', 'groups'), process.pid, config.run);

// A worker that exits, or loses its parent (the grader killed or interrupted), kills what it started.
process.on('exit', () => registry.killOwn());
process.on('disconnect', () => {
  registry.killOwn();
  process.exit(1);
});

/** The marker a starter's NotImplemented error prints; it names the phase and the spot. */
const todoPattern = /phase (\d+(?:\.\d+)*) not started: (.+?) is still a TODO/;

export class FakeServer {
  // Half-open, so that a test decides when the fake server closes its side.
  private readonly server = net.createServer({ allowHalfOpen: true });
  private readonly waiting: net.Socket[] = [];
  /** Every connection it accepted, handed out or not, so that close() ends them all. */
  private readonly sockets = new Set<net.Socket>();
  private wake: (() => void) | undefined;
  private claim: PortClaim | undefined;
  port = 0;

  constructor(
    private readonly h: Harness,
    /** The loopback address it listens on. */
    readonly host = '127.0.0.1',
  ) {
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      this.waiting.push(socket);
      this.wake?.();
    });
  }

  async listen(): Promise<void> {
    this.claim = await listenClaimed(this.server, `the fake server of ${this.h.testName}`, this.host);
    this.port = this.claim.port;
  }

  /**
   * Waits for the program under test to connect to this fake server. With `from`, a connection
   * that the OS shows was made by some other process is turned away, not taken for the program's.
   */
  async accept(options: { name?: string; timeoutMs?: number; what?: string; from?: Proc } = {}): Promise<Conn> {
    const timeoutMs = scaled(options.timeoutMs ?? 5_000);
    const from = options.from;
    const socket = await withDeadline(
      (async () => {
        for (;;) {
          while (this.waiting.length === 0) {
            // A program that dies before connecting fails the wait at once, with its last words.
            if (from?.exit) throw new GradeFailure(`${from.name} never connected to the fake server: ${describeExit(from.exit)}${from.tailText()}`);
            const exited = from ? from.exited.then(() => undefined) : new Promise<void>(() => undefined);
            await Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), exited]);
          }
          const next = this.waiting.shift()!;
          if (from?.pid !== undefined && next.remotePort !== undefined && connectionOwner(this.port, next.remotePort, from.pid) === 'theirs') {
            this.h.note(`fake server on port ${this.port} turned away a connection from port ${next.remotePort}: it came from another program, not ${from.name}`);
            next.destroy();
            continue;
          }
          return next;
        }
      })(),
      timeoutMs,
      () => `the fake server on port ${this.port} waited ${seconds(timeoutMs)} for ${options.what ?? 'the program to connect'}, and nothing connected`,
    );
    const name = options.name ?? 'fake server';
    const link = this.h.trace.link(this.h.trace.lane(name, 'grader'), from ?? this.h.programLane());
    link.event('accept', `accepted a connection on port ${this.port}`);
    const conn = new Conn(socket, name, this.h.transcript, link);
    this.h.transcript.note(`${conn.name} accepted a connection on port ${this.port}`);
    this.h.own(conn);
    return conn;
  }

  /**
   * "The server went away": stops listening and ends every connection it accepted, but keeps its
   * port claimed until the test ends, so that nothing else listens there: the program's attempts
   * to connect are refused, as a dead server's are.
   */
  async away(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Stops listening for good, ends every connection and gives its port back. */
  async close(): Promise<void> {
    await this.away();
    this.claim?.release();
  }
}

export interface StartOptions {
  /** The name in logs and messages; defaults to the program's name. */
  name?: string;
  /** Parameters the lab's program turns into flags; `port` is chosen by the OS when omitted. */
  params?: ProgramParams;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** Runs the program under another one, such as `['strace', '-f', '-o', file]`. */
  prefix?: string[];
  /**
   * false: do not wait for a listening program to accept connections (it still gets its port),
   * for a test that expects it to refuse to start; then await `proc.expectExit(...)`.
   */
  ready?: boolean;
}

export class Harness {
  readonly transcript = new Transcript();
  /** Everything the grader saw, for the test's space-time diagram; a lab's own peers add their messages to it. */
  readonly trace: Trace;
  readonly config = config;
  private readonly procs: Proc[] = [];
  private readonly conns: Conn[] = [];
  private readonly proxies: FaultProxy[] = [];
  private readonly closers: (() => Promise<void>)[] = [];
  private readonly claims: PortClaim[] = [];
  private readonly dataDirs: string[] = [];
  private closed = false;
  private logDirCache: string | undefined;
  private randomCache: Random | undefined;

  constructor(
    readonly lab: LabSpec,
    readonly phase: PhaseSpec,
    readonly testName: string,
  ) {
    this.trace = new Trace(testName);
  }

  /** This test's log folder, made on first use; a repeated test gets "-2", "-3", ... */
  get logDir(): string {
    if (this.logDirCache) return this.logDirCache;
    const base = path.join(this.config.runDir, 'logs', slug(this.testName));
    mkdirSync(path.dirname(base), { recursive: true });
    for (let n = 1; ; n++) {
      const dir = n === 1 ? base : `${base}-${n}`;
      try {
        mkdirSync(dir);
        return (this.logDirCache = dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
  }

  note(text: string): void {
    this.transcript.note(text);
    this.trace.note(text);
  }

  own(conn: Conn): void {
    this.conns.push(conn);
  }

  /**
   * A port claimed machine-wide for this test (outside the OS's ephemeral range, see ports.ts)
   * and given back when the test ends: for a port that must stay unused ("nothing listens
   * there"), or one a test helper listens on itself (see listen()).
   */
  async claimPort(what = `a port of ${this.testName}`): Promise<number> {
    this.checkOpen();
    const claim = await claimPort(what);
    this.claims.push(claim);
    return claim.port;
  }

  /** Listens with a server a test helper made, on a claimed port; returns the port. */
  async listen(server: net.Server, what = `a listener of ${this.testName}`): Promise<number> {
    this.checkOpen();
    const claim = await listenClaimed(server, what);
    this.claims.push(claim);
    return claim.port;
  }

  /**
   * A fresh, empty folder for a program's data, made for this test. It is removed when the test
   * passes and kept, in the test's log folder, when it fails, so the student can look at it.
   */
  dataDir(name = 'data'): string {
    this.checkOpen();
    const plan = this.config.sandbox;
    // Confined, data folders are outside the logs (which the program must not touch), in the run's work folder.
    const dir = plan ? path.join(plan.work, 'data', path.basename(this.logDir), slug(name) || 'data') : path.join(this.logDir, slug(name) || 'data');
    if (this.dataDirs.includes(dir)) throw new Error(`dataDir("${name}") was already made in this test`);
    mkdirSync(dir, { recursive: true });
    if (plan) ownDataDir(plan, dir);
    this.dataDirs.push(dir);
    return dir;
  }

  /** This test's seed: derived from the run's seed and the test's name, so a run replays. */
  get seed(): number {
    return testSeed(this.config.seed, this.testName);
  }

  /** A generator seeded with this test's seed; a failure then names the seed that replays it. */
  get random(): Random {
    return (this.randomCache ??= new Random(this.seed));
  }

  private checkOpen(): void {
    // A test body that outlived its deadline must not start anything after the teardown.
    if (this.closed) throw new GradeFailure('the test already ended (its deadline passed)');
  }

  /** The command that runs `program`: the --cmd given for it, or the compiled TypeScript entry. */
  private async command(program: string, flags: string[]): Promise<{ command: [string, ...string[]]; cwd: string; reads: string[] }> {
    const given = this.config.commands[program];
    if (given) {
      const [file, ...args] = parseCommand(given);
      if (!file) throw new GradeFailure(`--cmd for ${program} is empty`);
      return { command: [file, ...args, ...flags], cwd: this.config.cwd, reads: [this.config.cwd] };
    }
    const dir = implDir(this.config, this.lab.dir);
    const entry = path.join(dir, this.lab.programs[program]!.file);
    if (!existsSync(entry)) throw new GradeFailure(`there is no ${entry} to run as the ${program}`);
    const sandbox = this.config.sandbox;
    try {
      const js = await buildProgram(entry, buildDir(this.config), { confineTo: sandbox ? dir : undefined });
      // Confined, V8's heap stops below the memory limit, so running out says so rather than crashing blind.
      const heap = sandbox ? [`--max-old-space-size=${Math.floor(sandbox.limits.memoryBytes / 2 / 2 ** 20)}`] : [];
      return { command: [process.execPath, '--enable-source-maps', ...heap, js, ...flags], cwd: dir, reads: [dir, path.dirname(js)] };
    } catch (error) {
      if (error instanceof BuildFailure) throw new GradeFailure(`could not start the ${program}: ${error.message}`);
      throw error;
    }
  }

  /**
   * Starts one of the lab's programs (the main one by default) as a real process. A program that
   * listens gets a free port and this waits until it accepts a connection there.
   */
  async start(program: string = this.lab.mainProgram, options: StartOptions = {}): Promise<Proc> {
    this.checkOpen();
    const spec = this.lab.programs[program];
    if (!spec) throw new Error(`lab ${this.lab.number} has no program named ${program}`);
    const name = options.name ?? program;
    const trace = this.trace.process(name, { terminal: !spec.listens });
    for (let attempt = 1; ; attempt++) {
      let claim: PortClaim | undefined;
      if (spec.listens && options.params?.port === undefined) {
        claim = await claimPort(`${name} in ${this.testName}`);
        this.claims.push(claim);
      }
      const port = claim?.port ?? options.params?.port;
      const params = { ...options.params, port };
      const { command, cwd, reads } = await this.command(program, spec.flags(params));
      const marker = path.join(this.config.runDir, 'never-ready', createHash('sha1').update([...(options.prefix ?? []), ...command].filter((a) => a !== String(port)).join('\0')).digest('hex'));
      const plan = this.config.sandbox;
      // A program writes only the data folders its arguments name (each replica its own), and
      // only those still there: a test may have removed one it was done with (lab 5's crash states).
      const named = (dir: string) => command.some((arg) => arg === dir || arg.startsWith(dir + path.sep));
      const writable = this.dataDirs.filter((dir) => named(dir) && existsSync(dir));
      const confinement: Confinement | undefined = plan && { plan, readable: reads, writable, home: path.join(plan.work, 'home') };
      if (existsSync(marker)) {
        throw new GradeFailure(
          `${name} was not started again: in an earlier test of this run it ran for ${seconds(scaled(options.readyTimeoutMs ?? 5_000))} without accepting a connection, so the grader does not wait for it again (see the first failure above)`,
        );
      }
      const proc = new Proc({
        name,
        command,
        prefix: options.prefix,
        confinement,
        cwd,
        env: options.env,
        port: spec.listens ? port : undefined,
        readyTimeoutMs: options.readyTimeoutMs,
        logFile: path.join(this.logDir, `${name}${attempt > 1 ? `-${attempt}` : ''}.log`),
        logCapBytes: this.config.logCapBytes,
        registry,
        transcript: this.transcript,
        trace,
      });
      this.procs.push(proc);
      try {
        await proc.start({ ready: options.ready });
        return proc;
      } catch (error) {
        // The port turned out to be someone else's (a program outside the kit took it between the
        // claim and the bind, or listens there already): not the program's fault, so try another.
        const taken = error instanceof PortTaken || (proc.exit !== undefined && /EADDRINUSE/.test(proc.outputText()) && proc.outputText().includes(String(port)));
        if (claim && taken && attempt < 5) {
          await proc.stop();
          this.procs.splice(this.procs.indexOf(proc), 1);
          markBusy(claim.port);
          claim.release();
          this.note(`port ${claim.port} was in use by another program; ${name} is started again on a new port`);
          continue;
        }
        if (error instanceof NeverReady) {
          mkdirSync(path.dirname(marker), { recursive: true });
          writeFileSync(marker, name);
        }
        throw error;
      }
    }
  }

  /** Connects to a program's port (or a port number) as a client. */
  async connect(target: Proc | number, options: { name?: string; timeoutMs?: number; halfOpen?: boolean } = {}): Promise<Conn> {
    this.checkOpen();
    const port = typeof target === 'number' ? target : target.port;
    if (port === undefined) throw new Error(`${(target as Proc).name} has no port`);
    const describeTarget = typeof target === 'number' ? undefined : () => `${target.name}: ${describeExit(target.exit)}${target.tailText()}`;
    const name = options.name ?? 'client';
    // Through a proxy of this test, the proxy records the messages, with both of their times.
    const proxy = this.proxies.find((p) => p.port === port);
    const far: LaneRef = typeof target === 'number' ? () => this.laneOnPort(proxy?.targetPort ?? port) : target;
    const trace = this.trace.link(this.trace.lane(name, 'grader'), far, { record: !proxy });
    const conn = await Conn.connect(port, { name, transcript: this.transcript, timeoutMs: options.timeoutMs, describeTarget, trace, halfOpen: options.halfOpen });
    this.conns.push(conn);
    return conn;
  }

  /** The lane of the program listening on `port`, or a lane named after the port. */
  laneOnPort(port: number): Lane {
    const proc = [...this.procs].reverse().find((p) => p.port === port && p.traceLane);
    return proc?.traceLane ?? this.trace.resolve(`port ${port}`);
  }

  /** The lane of "the program" a fake server's connection comes from: the one program of the test that does not listen, if there is one. */
  programLane(): LaneRef {
    return () => {
      const clients = this.procs.filter((p) => p.port === undefined && p.traceLane);
      return clients.length === 1 ? clients[0]!.traceLane! : 'the program';
    };
  }

  /**
   * A fault-injecting proxy in front of `targetPort`; connect to its `port` instead. In the
   * trace its messages go from `from` (by default: whichever of the test's programs or
   * connections opened the link, where the OS can tell) to `to` (by default: the program
   * listening on `targetPort`).
   */
  async proxy(targetPort: number, lanes: { from?: LaneRef; to?: LaneRef } = {}, host = '127.0.0.1'): Promise<FaultProxy> {
    this.checkOpen();
    const proxy = new FaultProxy(targetPort);
    this.observe(proxy, lanes);
    this.proxies.push(proxy);
    for (let attempt = 1; ; attempt++) {
      const port = await this.claimPort(`a fault proxy of ${this.testName}`);
      try {
        await proxy.listen(port, host);
        break;
      } catch (error) {
        markBusy(port);
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw error;
      }
    }
    this.closers.push(() => proxy.close());
    this.note(`proxy on port ${proxy.port} in front of port ${targetPort}`);
    return proxy;
  }

  /** Connects `proxy` to the trace: its messages between two programs, its faults, and what it lost. */
  private observe(proxy: FaultProxy, lanes: { from?: LaneRef; to?: LaneRef }): void {
    if (this.trace.off) return;
    const name = () => `proxy :${proxy.port}`;
    const froms = new Map<number, Lane>();
    const sockets = new Map<number, net.Socket>();
    /** The program (or connection) that opened `link`; undefined while it is not known. */
    const opener = (link: number): Lane | undefined => {
      if (lanes.from) return this.trace.resolve(lanes.from);
      const known = froms.get(link);
      if (known) return known;
      const socket = sockets.get(link);
      const remote = socket?.remotePort;
      if (remote === undefined) return undefined;
      const conn = this.conns.find((c) => c.socket.localPort === remote);
      const lane = conn?.traceLane ?? holderLane(this.procs, proxy.port, remote);
      if (lane) froms.set(link, lane);
      return lane;
    };
    /** The program behind the proxy: a lane of its own only when it is a program (a grader's listener records its own messages). */
    const target = (): Lane | undefined => {
      if (lanes.to) return this.trace.resolve(lanes.to);
      return [...this.procs].reverse().find((p) => p.port === proxy.targetPort && p.traceLane)?.traceLane;
    };
    const streams = this.trace.proxyStreams((link, direction) => {
      const to = target();
      if (!to) return undefined;
      const from = opener(link) ?? this.trace.resolve(`a program, through ${name()}`);
      return direction === 'forward' ? { from, to } : { from: to, to: from };
    }, name);
    proxy.observer = {
      accepted: (link, client) => {
        sockets.set(link, client);
      },
      arrived: (link, direction, chunk) => streams.arrived(link, direction, chunk),
      delivered: (_link, _direction, chunk) => streams.delivered(chunk),
      dropped: (_link, _direction, chunk, why) => streams.dropped(chunk, why),
      fault: (what, text) => {
        const last = Math.max(0, ...sockets.keys());
        this.trace.fault(what, `proxy on port ${proxy.port} in front of port ${proxy.targetPort}: ${text}`, { from: last ? opener(last) : lanes.from ? this.trace.resolve(lanes.from) : undefined, to: target(), link: name() });
      },
    };
  }

  /**
   * Runs `close` when the test ends, after a failure has been explained (so what it closes does
   * not change the processes' last lines): for sockets and listeners a test helper made itself.
   */
  onTeardown(close: () => void | Promise<void>): void {
    this.closers.push(async () => close());
  }

  /** A server the test plays itself, for grading a program that connects out (a client). */
  async fakeServer(options: { host?: string } = {}): Promise<FakeServer> {
    this.checkOpen();
    const server = new FakeServer(this, options.host);
    await server.listen();
    this.closers.push(() => server.close());
    this.note(`fake server listening on ${server.host === '127.0.0.1' ? '' : `${server.host}, `}port ${server.port}`);
    return server;
  }

  /** What the grader saw, for the report on a failed test. */
  async diagnostics(): Promise<Diagnostics> {
    // A process that is dying as the test fails: its exit status and last words first.
    await Promise.all(this.procs.map((p) => p.settle()));
    let todo: string | undefined;
    for (const proc of this.procs) {
      const match = todoPattern.exec(proc.outputText());
      if (match) todo = `phase ${match[1]} not started: ${match[2]} is still a TODO`;
    }
    return {
      processes: this.procs.map((p) => ({
        name: p.name,
        command: p.commandLine,
        exit: p.exitText(),
        crash: todo ? undefined : p.crash()?.summary,
        lastLines: p.lastLines(15, { beforeCrash: !todo }),
        logFile: path.relative(this.config.root, p.logFile),
      })),
      transcript: this.transcript.excerpt(),
      allSteps: this.transcript.last(80),
      todo,
      logDir: path.relative(this.config.root, this.logDir),
      seed: this.randomCache ? { run: this.config.seed, test: this.seed } : undefined,
      dataDirs: this.dataDirs.length ? this.dataDirs.map((d) => path.relative(this.config.root, d)) : undefined,
    };
  }

  /** Ends everything the test made. Bounded: a teardown never hangs. `passed` removes its data folders. */
  async teardown(passed = false): Promise<void> {
    this.closed = true;
    for (const conn of this.conns) conn.destroy();
    await Promise.all(this.closers.map((close) => bounded(close(), 2_000)));
    await Promise.all(this.procs.map((p) => bounded(p.stop(), 5_000)));
    // Only now that every program is gone may its port go to someone else.
    for (const claim of this.claims) claim.release();
    if (passed) for (const dir of this.dataDirs) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Which of `procs` holds the socket that connected from `theirPort` to our `ourPort` (Linux:
 * /proc names the socket's inode and each process's open sockets); undefined elsewhere.
 */
function holderLane(procs: Proc[], ourPort: number, theirPort: number): Lane | undefined {
  const row = tcpSockets((r) => r.localPort === theirPort && r.remotePort === ourPort && r.inode !== '0')?.[0];
  if (!row) return undefined;
  const socket = `socket:[${row.inode}]`;
  for (const proc of procs) {
    if (proc.pid === undefined || proc.exit || !proc.traceLane) continue;
    try {
      for (const fd of readdirSync(`/proc/${proc.pid}/fd`)) {
        try {
          if (readlinkSync(`/proc/${proc.pid}/fd/${fd}`) === socket) return proc.traceLane;
        } catch {
          // Closed while we looked.
        }
      }
    } catch {
      // Gone, or not ours to look at.
    }
  }
  return undefined;
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-|-$/g, '').slice(0, 80);
}

export interface PhaseTestOptions {
  points: number;
  /** Overrides the phase's deadline for this test. */
  timeoutMs?: number;
}

/**
 * Returns the `test` function for one phase: it names each test "<id> <name>", puts the points
 * in the test's metadata and gives the body a Harness.
 */
export function phase(lab: LabSpec, id: string) {
  const spec = lab.phases.find((p) => p.id === id);
  if (!spec) throw new Error(`lab ${lab.number} has no phase ${id} in its lab.ts`);
  // Before the phase's first test: the phases it needs must have passed (needs.ts).
  let failedNeeds: string[] = [];
  if (selectedNeeds(config, spec).length > 0) {
    beforeAll(async () => {
      failedNeeds = await waitForNeeds(config, lab, spec);
    }, needsTimeoutMs(config, lab, spec));
  }
  return (name: string, options: PhaseTestOptions, body: (h: Harness) => Promise<void>) => {
    const fullName = `${id} ${name}`;
    vitestTest(fullName, { timeout: scaled(options.timeoutMs ?? spec.timeoutMs), meta: { lab: lab.number, phase: id, points: options.points } }, async (context) => {
      // Not run: the report calls the phase blocked by the ones that failed.
      if (failedNeeds.length > 0) return context.skip(`phase ${id} needs ${failedNeeds.join(', ')}, which did not pass`);
      const h = new Harness(lab, spec, fullName);
      h.trace.decoders = await labDecoders(h.config.root, lab.dir);
      // Runs however the test ends, its own deadline included.
      context.onTestFinished(async () => {
        const failed = context.task.result?.state === 'fail';
        if (failed) h.trace.failed(describeError(context.task.result?.errors?.[0]));
        if (failed) await explain(h, context.task.id);
        // Written before the teardown, so that it shows the test as it ended, not the grader cleaning up.
        if ((failed || traceAll()) && !h.trace.off) await writeTrace(h, context.task.id, failed);
        await h.teardown(!failed);
      });
      await body(h);
    });
  };
}

/** Where the report finds a test's trace: runDir/trace/<task id>.json names its files. */
export function traceIndexFile(runDir: string, taskId: string): string {
  return path.join(runDir, 'trace', `${taskId.replace(/[^\w.-]/g, '_')}.json`);
}

async function writeTrace(h: Harness, taskId: string, failed: boolean): Promise<void> {
  try {
    const written = await h.trace.write(h.logDir, failed ? 'failed' : 'passed');
    const index = traceIndexFile(h.config.runDir, taskId);
    mkdirSync(path.dirname(index), { recursive: true });
    const relative = (file: string) => path.relative(h.config.root, file);
    writeFileSync(index, JSON.stringify({ html: relative(written.html), jsonl: relative(written.jsonl), messages: h.trace.messageCount, ms: Math.round(written.ms), bytes: written.bytes }));
  } catch (error) {
    // A trace is a help, never a reason for a test to fail or its report to be lost.
    h.transcript.note(`the trace could not be written: ${(error as Error).message}`);
  }
}

async function explain(h: Harness, taskId: string): Promise<void> {
  const diagnostics = await h.diagnostics();
  const dir = path.join(h.config.runDir, 'explain');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${taskId.replace(/[^\w.-]/g, '_')}.json`), JSON.stringify(diagnostics, null, 2));
  if (!process.env.SWITCHBOARD_RUN) {
    // Run straight under vitest, with no grader report: print it beside the failure.
    console.error([diagnostics.todo ?? '', ...diagnostics.transcript, ...diagnostics.processes.flatMap((p) => [`${p.name}: ${p.exit}`, ...p.lastLines])].join('\n'));
  }
}
