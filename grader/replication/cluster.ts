// A cluster of replicas under test (labs 6 and 7): N replicas started through the harness, each on
// a port claimed before any starts, with one fault proxy per ordered pair of replicas, so that
// replica i reaches replica j only through proxy i→j (spec/06-replication.md, section 13). A
// STATUS poller runs for the cluster's whole life and feeds the History; faults the test causes
// go there too. finish() stops everything, reads every replica's log, and runs the checker.
//
// Lab 6 only watches the proxies; lab 7 (`consensus`) pauses replicas and cuts, delays and
// partitions the proxies (any split, one way too), and its checker reads terms from STATUS and
// from the messages the proxies carry (watch.ts).
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { FaultProxy, Harness, Proc } from '../harness/index.js';
import { describeExit } from '../harness/process.js';
import { GradeFailure, scaled, seconds } from '../harness/wait.js';
import { describeStatus } from '../../labs/06-replication/tests/wire.js';
import { checkHistory, excerpt } from './checker.js';
import { History, describeEvent, type ReplicaStatus, type Round } from './history.js';
import { readReplicaLog } from './logs.js';
import { StatusPoller } from './poller.js';
import { TermWatch } from './watch.js';
import { Points } from '../explore/points.js';

export interface ClusterOptions {
  size: number;
  /** --heartbeat-ms, before SWITCHBOARD_TIME_SCALE; 100 by default. */
  heartbeatMs?: number;
  /** --timeout-ms, before SWITCHBOARD_TIME_SCALE; 2000 by default (section 13 says why). */
  timeoutMs?: number;
  /** Replicas not to start yet (they get their port, proxies and directory all the same). */
  later?: number[];
  /**
   * A replica to start before the others, which start once it accepts connections: its wait for a
   * primary ends first, so it is the first candidate whatever the machine's start-up delays.
   */
  first?: number;
  /** Lab 7: terms are checked (spec/07-consensus.md, section 15), and two primaries of different terms may coexist. */
  consensus?: boolean;
  /** Lab 7: --compact-after N for every replica (none by default). */
  compactAfter?: number;
  /** Names the data directories `<prefix>replica-N`: for a test that starts several clusters one after another (grader/explore). */
  dirPrefix?: string;
  /**
   * The loopback address the proxies listen on, which --peers names (127.0.0.1 by default). Another
   * one (127.0.0.2, Linux) catches a replica that dials 127.0.0.1 whatever its list says.
   */
  peerHost?: string;
}

export interface Member {
  id: number;
  port: number;
  dir: string;
  proc: Proc | undefined;
  /** True while the grader believes it running (started, not killed or stopped). */
  up: boolean;
  /** True while the grader holds it stopped (SIGSTOP). */
  paused: boolean;
  /** proxies.get(j): the proxy this replica reaches replica j through. */
  proxies: Map<number, FaultProxy>;
}

export class Cluster {
  readonly history = new History();
  readonly poller: StatusPoller;
  /** The flags' values, scaled. */
  readonly heartbeatMs: number;
  readonly timeoutMs: number;
  /** T before scaling, for deadlines (which the harness scales). */
  readonly baseTimeoutMs: number;
  readonly consensus: boolean;
  /** Named points of a schedule on every proxy (grader/explore/points.ts), watching from before the first connection. */
  points!: Points;
  private finished = false;

  private constructor(
    private readonly h: Harness,
    readonly members: Member[],
    private readonly options: ClusterOptions,
  ) {
    this.heartbeatMs = scaled(options.heartbeatMs ?? 100);
    this.baseTimeoutMs = options.timeoutMs ?? 2_000;
    this.timeoutMs = scaled(this.baseTimeoutMs);
    this.consensus = options.consensus ?? false;
    this.poller = new StatusPoller(() => new Map(this.members.map((m) => [m.id, m.port])), this.history);
  }

  /** Claims the ports, makes the proxies and directories, starts the replicas (all at once). */
  static async start(h: Harness, options: ClusterOptions): Promise<Cluster> {
    const ids = Array.from({ length: options.size }, (_, i) => i + 1);
    const members: Member[] = [];
    for (const id of ids) members.push({ id, port: await h.claimPort(`replica ${id}`), dir: h.dataDir(`${options.dirPrefix ?? ''}replica-${id}`), proc: undefined, up: false, paused: false, proxies: new Map() });
    // The lanes are named, not found through the OS: only Linux can tell which process opened a link.
    for (const from of members) {
      for (const to of members) {
        if (to !== from) from.proxies.set(to.id, await h.proxy(to.port, { from: () => `replica ${from.id}`, to: () => `replica ${to.id}` }, options.peerHost));
      }
    }
    const cluster = new Cluster(h, members, options);
    if (cluster.consensus) {
      const watch = new TermWatch(cluster.history);
      for (const from of members) for (const [to, proxy] of from.proxies) watch.attach(proxy, from.id, to);
    }
    cluster.points = new Points(cluster);
    h.note(`a cluster of ${options.size}: replica i on port ${members.map((m) => m.port).join(', ')}; replica i reaches replica j through a proxy of its own; --heartbeat-ms ${cluster.heartbeatMs} --timeout-ms ${cluster.timeoutMs}`);
    h.onTeardown(() => cluster.poller.stop());
    cluster.poller.start();
    const now = members.filter((m) => !options.later?.includes(m.id));
    const first = now.find((m) => m.id === options.first);
    if (first) await cluster.launch(first);
    await Promise.all(now.filter((m) => m !== first).map((m) => cluster.launch(m)));
    return cluster;
  }

  get ids(): number[] {
    return this.members.map((m) => m.id);
  }

  get majority(): number {
    return Math.floor(this.members.length / 2) + 1;
  }

  member(id: number): Member {
    const member = this.members.find((m) => m.id === id);
    if (!member) throw new Error(`the cluster has no replica ${id}`);
    return member;
  }

  /** The proxy that carries replica `from`'s messages to replica `to`. */
  proxy(from: number, to: number): FaultProxy {
    return this.member(from).proxies.get(to)!;
  }

  /** --peers for replica `id`: every other replica, at the proxy of that pair. */
  peersOf(id: number): string {
    return [...this.member(id).proxies].map(([to, proxy]) => `${to}=${this.options.peerHost ?? '127.0.0.1'}:${proxy.port}`).join(',');
  }

  /** --replicas for the lab's client: every replica at its own port. */
  replicaList(order = this.ids): string {
    return order.map((id) => `${id}=127.0.0.1:${this.member(id).port}`).join(',');
  }

  private async launch(member: Member): Promise<void> {
    const params = { id: member.id, port: member.port, peers: this.peersOf(member.id), data: member.dir, heartbeatMs: this.heartbeatMs, timeoutMs: this.timeoutMs, compactAfter: this.options.compactAfter };
    member.proc = await this.h.start('replica', { name: `replica ${member.id}`, params, readyTimeoutMs: 20_000 });
    member.up = true;
  }

  /** Starts replicas that were left for later, all at once. */
  async startLater(...ids: number[]): Promise<void> {
    this.history.fault(`starts replica${ids.length > 1 ? 's' : ''} ${ids.join(', ')}`, ids);
    await Promise.all(ids.map((id) => this.launch(this.member(id))));
  }

  /** kill -9, several at once if given several. */
  async kill(...ids: number[]): Promise<void> {
    this.history.fault(`kill -9 replica${ids.length > 1 ? 's' : ''} ${ids.join(' and ')}`, ids);
    await Promise.all(ids.map(async (id) => {
      const member = this.member(id);
      member.up = false;
      member.paused = false;
      await member.proc!.kill('SIGKILL');
      if (!member.proc!.exit) throw new GradeFailure(`replica ${id} was sent SIGKILL and had not exited 2 s later`);
    }));
  }

  /** SIGTERM, a clean stop (spec section 2): several at once if given several. */
  async stop(...ids: number[]): Promise<void> {
    this.history.fault(`stops replica${ids.length > 1 ? 's' : ''} ${ids.join(' and ')} (SIGTERM)`, ids);
    await Promise.all(ids.map(async (id) => {
      const member = this.member(id);
      member.up = false;
      member.paused = false;
      await member.proc!.kill('SIGTERM');
    }));
  }

  /** Starts several stopped replicas again at once, each on its port and data directory. */
  async restartAll(ids = this.ids): Promise<void> {
    this.history.fault(`restarts replicas ${ids.join(', ')} on their data directories, all at once`, ids);
    await Promise.all(ids.map(async (id) => {
      const member = this.member(id);
      await member.proc!.restart();
      member.up = true;
      member.paused = false;
    }));
  }

  /** Starts a killed replica again on its port and data directory. */
  async restart(id: number): Promise<void> {
    const member = this.member(id);
    this.history.fault(`restarts replica ${id} on its data directory`, [id]);
    await member.proc!.restart();
    member.up = true;
    member.paused = false;
  }

  /** Starts a stopped or killed replica again with its data directory emptied. */
  async restartEmpty(id: number): Promise<void> {
    const member = this.member(id);
    this.history.fault(`restarts replica ${id} with an empty data directory`, [id]);
    await member.proc!.stop();
    for (const name of readdirSync(member.dir)) rmSync(path.join(member.dir, name), { recursive: true, force: true });
    await member.proc!.start();
    member.up = true;
    member.paused = false;
  }

  /**
   * The replica that claimed to be the primary in the latest poll, if exactly one did; with terms
   * (lab 7), the one of the highest term, if one term is highest.
   */
  primaryNow(): number | undefined {
    const primaries = [...(this.poller.latest?.states ?? [])].filter(([, s]) => s?.role === 'primary').map(([, s]) => s!);
    if (primaries.length === 1) return primaries[0]!.id;
    if (!this.consensus || primaries.some((s) => s.term === undefined)) return undefined;
    const top = Math.max(...primaries.map((s) => s.term!));
    const highest = primaries.filter((s) => s.term === top);
    return highest.length === 1 ? highest[0]!.id : undefined;
  }

  /** The latest STATUS of `id`, if it answered the latest poll. */
  statusNow(id: number): ReplicaStatus | undefined {
    return this.poller.latest?.states.get(id);
  }

  /**
   * Waits for a poll round that `check` accepts, among those begun after this call (an older one
   * may predate what the test just did); fails with `what` and the latest round.
   */
  async until<T>(check: (round: Round) => T | undefined, options: { timeoutMs: number; what: string }): Promise<T> {
    const timeoutMs = scaled(options.timeoutMs);
    const end = Date.now() + timeoutMs;
    const since = this.history.now();
    for (;;) {
      this.checkPolls();
      this.checkAlive();
      const round = this.poller.latest;
      const value = round && round.t >= since ? check(round) : undefined;
      if (value !== undefined) return value;
      if (Date.now() > end) {
        throw new GradeFailure(`the grader waited ${seconds(timeoutMs)} for ${options.what}; the last STATUS poll said:\n${this.describeRound(round)}\n${this.recentEvents()}`);
      }
      await this.poller.nextRound();
    }
  }

  /**
   * Waits until exactly one of the replicas that are up is primary and every other one that is up
   * is its backup (with `members`, only those replicas count: for a partition, the majority's
   * side; paused replicas never count). Returns its id.
   */
  async waitForPrimary(options: { what?: string; timeoutMs?: number; among?: number[]; members?: number[] } = {}): Promise<number> {
    const what = options.what ?? 'one primary that every running replica follows';
    return this.until(
      (round) => {
        const up = this.members.filter((m) => m.up && !m.paused && (!options.members || options.members.includes(m.id))).map((m) => m.id);
        const states = up.map((id) => round.states.get(id));
        if (states.some((s) => !s)) return undefined;
        const primaries = states.filter((s) => s!.role === 'primary');
        if (primaries.length !== 1) return undefined;
        const primary = primaries[0]!.id;
        const term = primaries[0]!.term;
        if (options.among && !options.among.includes(primary)) return undefined;
        return states.every((s) => s!.primary === primary && s!.term === term && (s!.id === primary || s!.role === 'backup')) ? primary : undefined;
      },
      { timeoutMs: options.timeoutMs ?? this.baseTimeoutMs + 15_000, what },
    );
  }

  /** Waits until every replica that is up (not paused) has the primary's whole log, committed. */
  async waitCaughtUp(what = 'every running replica to hold the primary\'s whole log, committed', timeoutMs = this.baseTimeoutMs + 20_000): Promise<ReplicaStatus> {
    return this.until(
      (round) => {
        const states = this.members.filter((m) => m.up && !m.paused).map((m) => round.states.get(m.id));
        const primary = states.find((s) => s?.role === 'primary');
        if (!primary || primary.commit !== primary.last) return undefined;
        return states.every((s) => s && s.last === primary.last && s.commit === primary.last && s.primary === primary.id && s.term === primary.term) ? primary : undefined;
      },
      { timeoutMs, what },
    );
  }

  /** A replica that should be running and stopped fails the test at once, with its last words. */
  checkAlive(): void {
    for (const m of this.members) {
      if (m.up && m.proc?.exit) throw new GradeFailure(`replica ${m.id} stopped, though the grader did not stop it: ${describeExit(m.proc.exit)}${m.proc.tailText()}`);
    }
  }

  /** A malformed REPLICA_STATE fails the test at the next wait. */
  checkPolls(): void {
    if (this.poller.problem) throw new GradeFailure(this.poller.problem);
  }

  describeRound(round: Round | undefined): string {
    if (!round) return '  (no poll has finished yet)';
    return [...round.states].map(([id, s]) => `  ${s ? describeStatus(s) : `replica ${id}: no answer`}`).join('\n');
  }

  private recentEvents(): string {
    const events = excerpt(this.history, { from: this.history.now() - 15_000, max: 12 });
    return events.length ? `What happened before that:\n${events.map((e) => `  ${describeEvent(e)}`).join('\n')}` : '';
  }

  // ---- Lab 7's faults: pauses and the network. Each goes into the History.

  /** SIGSTOP: the replica keeps its connections and does nothing until resume(). */
  pause(...ids: number[]): void {
    this.history.fault(`pauses replica${ids.length > 1 ? 's' : ''} ${ids.join(' and ')} (SIGSTOP)`, ids);
    for (const id of ids) {
      const member = this.member(id);
      member.proc!.pause();
      member.paused = true;
    }
  }

  /** SIGCONT: a paused replica goes on where it stopped. */
  resume(...ids: number[]): void {
    this.history.fault(`resumes replica${ids.length > 1 ? 's' : ''} ${ids.join(' and ')} (SIGCONT)`, ids);
    for (const id of ids) {
      const member = this.member(id);
      member.proc!.resume();
      member.paused = false;
    }
  }

  /** Every link between these groups cut (reset, and new connections refused) both ways; links within a group stay. */
  partition(...groups: number[][]): void {
    this.history.fault(`partitions the network: ${groups.map((g) => `{${g.join(', ')}}`).join(' | ')}`, groups.flat());
    for (const a of groups) for (const b of groups) if (a !== b) for (const from of a) for (const to of b) this.proxy(from, to).partition();
  }

  /** `id` cut off from every other replica, both ways. */
  isolate(id: number): void {
    this.partition([id], this.ids.filter((i) => i !== id));
  }

  /** One way: what `from` sends `to` is refused (connections reset); what `to` sends `from` still arrives. */
  block(from: number, to: number): void {
    this.history.fault(`cuts the link from replica ${from} to replica ${to}, one way (replica ${to} still reaches replica ${from})`, [from, to]);
    this.proxy(from, to).partition();
  }

  /** These links (from, to) deliver again, with no delay. */
  healLinks(links: [number, number][]): void {
    this.history.fault(`heals the link${links.length > 1 ? 's' : ''} ${links.map(([a, b]) => `${a}→${b}`).join(', ')}`, [...new Set(links.flat())]);
    for (const [from, to] of links) {
      this.proxy(from, to).delay(0);
      this.proxy(from, to).heal();
    }
  }

  /** Every link delivers again, with no delay. */
  heal(): void {
    this.history.fault('heals every link', this.ids);
    for (const m of this.members) {
      for (const proxy of m.proxies.values()) {
        proxy.delay(0);
        proxy.heal();
      }
    }
  }

  /** Every message from `from` to `to` waits `ms` (0: no more delay). */
  delay(from: number, to: number, ms: number): void {
    this.history.fault(`delays every message from replica ${from} to replica ${to} by ${ms} ms`, [from, to]);
    this.proxy(from, to).delay(ms);
  }

  /** Resets the connection from `from` to `to` (what was in flight is lost); it may open again at once. */
  cut(from: number, to: number): void {
    this.history.fault(`resets the connection from replica ${from} to replica ${to}`, [from, to]);
    this.proxy(from, to).cut();
  }

  /**
   * The end of a test: stops the polls and every replica (SIGTERM, a clean stop), reads every
   * replica's data directory, and checks the whole history (checker.ts).
   */
  async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.checkPolls();
    await this.poller.stop();
    await Promise.all(this.members.filter((m) => m.up).map(async (m) => {
      await m.proc!.kill('SIGTERM');
      m.up = false;
      m.paused = false;
    }));
    const logs = this.members.filter((m) => m.proc).map((m) => readReplicaLog(m.id, m.dir));
    checkHistory(this.history, logs, { consensus: this.consensus });
    if (this.consensus && this.poller.withoutTerm.size > 0) {
      throw new GradeFailure(`replica ${[...this.poller.withoutTerm].join(' and ')} answered STATUS without a "term": lab 7's REPLICA_STATE carries the replica's current term (spec/07-consensus.md, section 11)`);
    }
  }
}
