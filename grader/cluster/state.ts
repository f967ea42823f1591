// A cluster of `npm run cluster` as it is recorded in its folder (--dir, default
// .switchboard/cluster): cluster.json says which replicas run where, with which pids and flags,
// which of them the tool holds paused, and, when the replicas reach each other through the view's
// proxies, those proxies' ports and which links are cut. Every command of the tool and the view
// act through this file, one after another, so that what one does the other shows: `kill 2` in
// a terminal is a replica down on the page, a partition clicked on the page is a line of
// `status`. Plain Node, the same on Windows, macOS and Linux (pause needs POSIX signals).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { isZombie, processAlive, startTime } from '../harness/procfs.js';

export interface Member {
  id: number;
  host: string;
  port: number;
  data: string;
  log: string;
  pid?: number;
  /** The process's start time (Linux), so that a reused pid is never signalled. */
  started?: string;
  /** True while the tool holds it stopped (SIGSTOP). */
  paused?: boolean;
}

export interface State {
  lab: string;
  command: string[];
  cwd: string;
  /** The flags each replica gets after the command, by id. */
  flags: Record<string, string[]>;
  members: Member[];
  /**
   * Set when the cluster was started with --view: replica i reaches replica j at
   * 127.0.0.1:proxies["i>j"], a proxy the view owns, so that it can show and cut every message.
   */
  proxies?: Record<string, number>;
  /** The links the view drops, one way each: "1>2" drops what replica 1 sends replica 2. */
  cuts?: string[];
  /** The view that serves this cluster's page, while it runs. */
  view?: { pid: number; started?: string; url: string };
}

export class ClusterDir {
  readonly file: string;

  constructor(readonly dir: string) {
    this.file = path.join(dir, 'cluster.json');
  }

  exists(): boolean {
    return existsSync(this.file);
  }

  /** The state, or undefined if no cluster is recorded here (or its file is being replaced). */
  read(): State | undefined {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as State;
    } catch {
      return undefined;
    }
  }

  /** Written whole to a new file and renamed over the old one: a reader never sees half of it. */
  save(state: State): void {
    mkdirSync(this.dir, { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(temporary, this.file);
  }

  /** Reads the state, changes it and writes it back at once, so that changes of others in between are kept. */
  update(change: (state: State) => void): State | undefined {
    const state = this.read();
    if (!state) return undefined;
    change(state);
    this.save(state);
    return state;
  }
}

/** True if `member`'s recorded process is still the one the tool started. */
export function running(member: Member): boolean {
  // A killed replica whose new parent has not reaped it yet is a zombie: gone.
  if (member.pid === undefined || !processAlive(member.pid) || isZombie(member.pid)) return false;
  return member.started === undefined || startTime(member.pid) === member.started;
}

/** True if the view recorded in `state` still runs. */
export function viewRunning(state: State): boolean {
  return state.view !== undefined && running({ id: 0, host: '', port: 0, data: '', log: '', pid: state.view.pid, started: state.view.started });
}

export function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => (socket.destroy(), resolve(false)));
  });
}

/** Starts the replica as a process of its own, which outlives the tool, its output appended to its log. */
export function launch(state: State, member: Member): void {
  mkdirSync(path.dirname(member.log), { recursive: true });
  const out = openSync(member.log, 'a');
  const [file, ...args] = state.command;
  const child = spawn(file!, [...args, ...state.flags[String(member.id)]!], { cwd: state.cwd, detached: true, stdio: ['ignore', out, out], windowsHide: true });
  closeSync(out);
  child.on('error', (error) => writeFileSync(member.log, `could not start replica ${member.id}: ${error.message}\n`, { flag: 'a' }));
  child.unref();
  member.pid = child.pid;
  member.started = child.pid === undefined ? undefined : startTime(child.pid);
  member.paused = false;
}

/** Waits until the replica accepts connections, or its process ends, or 15 s pass. */
export async function ready(member: Member): Promise<boolean> {
  const end = Date.now() + 15_000;
  while (Date.now() < end) {
    if (await accepts(member.host, member.port)) return true;
    if (!running(member)) return false;
    await delay(100);
  }
  return false;
}

export function signal(member: Member, sig: NodeJS.Signals): boolean {
  if (!running(member)) return false;
  try {
    process.kill(member.pid!, sig);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL if it has not exited within 3 s. A paused replica is woken first, or it would not hear the SIGTERM. */
export async function stopMember(member: Member): Promise<void> {
  if (member.paused) signal(member, 'SIGCONT');
  member.paused = false;
  if (!signal(member, 'SIGTERM')) return;
  const end = Date.now() + 3_000;
  while (Date.now() < end && running(member)) await delay(50);
  signal(member, 'SIGKILL');
}

/** Why pausing cannot work here, or undefined: Windows has no SIGSTOP. */
export function cannotPause(): string | undefined {
  return process.platform === 'win32' ? 'pausing a replica needs SIGSTOP, which Windows does not have' : undefined;
}

/** Replica `id` of the state, or a sentence saying which replicas there are. */
export function findMember(state: State, id: string | number | undefined): Member | string {
  const member = state.members.find((m) => String(m.id) === String(id));
  return member ?? `there is no replica ${id ?? '(none given)'}; the replicas are ${state.members.map((m) => m.id).join(', ')}`;
}

// What one action does, for the CLI and the page alike: each reads the state, acts, saves it,
// and returns a sentence for the user or throws one (an ActionError).

export class ActionError extends Error {}

function member(dir: ClusterDir, id: string | number | undefined): { state: State; member: Member } {
  const state = dir.read();
  if (!state) throw new ActionError(`no cluster is running here (${dir.file})`);
  const found = findMember(state, id);
  if (typeof found === 'string') throw new ActionError(found);
  return { state, member: found };
}

export function killReplica(dir: ClusterDir, id: string | number | undefined): string {
  const { member: m } = member(dir, id);
  if (!signal(m, 'SIGKILL')) throw new ActionError(`replica ${m.id} is not running`);
  dir.update((s) => {
    const it = s.members.find((x) => x.id === m.id);
    if (it) it.paused = false;
  });
  return `replica ${m.id} (pid ${m.pid}) killed`;
}

export async function stopReplica(dir: ClusterDir, id: string | number | undefined): Promise<string> {
  const { member: m } = member(dir, id);
  if (!running(m)) throw new ActionError(`replica ${m.id} is not running`);
  await stopMember(m);
  dir.update((s) => {
    const it = s.members.find((x) => x.id === m.id);
    if (it) it.paused = false;
  });
  return `replica ${m.id} (pid ${m.pid}) stopped`;
}

export async function restartReplica(dir: ClusterDir, id: string | number | undefined): Promise<{ text: string; up: boolean; member: Member }> {
  const { state, member: m } = member(dir, id);
  await stopMember(m);
  // A killed replica stays a zombie until its new parent collects it, and a zombie's pid still
  // answers: a replica that finds that pid in its LOCK would take it for a live holder. Wait
  // (bounded) until the pid is gone.
  const old = m.pid;
  for (const end = Date.now() + 10_000; old !== undefined && processAlive(old) && Date.now() < end; ) await delay(50);
  launch(state, m);
  dir.update((s) => {
    const i = s.members.findIndex((x) => x.id === m.id);
    if (i >= 0) s.members[i] = m;
  });
  const up = await ready(m);
  return { text: `replica ${m.id}: ${up ? 'listening' : 'NOT listening'} on ${m.host}:${m.port}, pid ${m.pid}`, up, member: m };
}

export function pauseReplica(dir: ClusterDir, id: string | number | undefined, pause: boolean): string {
  const why = cannotPause();
  if (why) throw new ActionError(why);
  const { member: m } = member(dir, id);
  if (!running(m)) throw new ActionError(`replica ${m.id} is not running`);
  if (pause && m.paused) throw new ActionError(`replica ${m.id} is already paused`);
  if (!pause && !m.paused) throw new ActionError(`replica ${m.id} is not paused`);
  if (!signal(m, pause ? 'SIGSTOP' : 'SIGCONT')) throw new ActionError(`replica ${m.id} could not be signalled`);
  dir.update((s) => {
    const it = s.members.find((x) => x.id === m.id);
    if (it) it.paused = pause;
  });
  return `replica ${m.id} (pid ${m.pid}) ${pause ? 'paused (SIGSTOP)' : 'resumed (SIGCONT)'}`;
}

/** Link faults need the view's proxies: without them the replicas reach each other directly. */
function linked(dir: ClusterDir): State {
  const state = dir.read();
  if (!state) throw new ActionError(`no cluster is running here (${dir.file})`);
  if (!state.proxies) throw new ActionError('this cluster\'s replicas reach each other directly, so no link can be cut; start it with --view (npm run cluster -- start 3 --view)');
  return state;
}

function ids(state: State, list: (string | number)[]): number[] {
  return list.map((x) => {
    const found = findMember(state, x);
    if (typeof found === 'string') throw new ActionError(found);
    return found.id;
  });
}

/** Cuts from → to (and to → from unless `oneWay`). */
export function cutLink(dir: ClusterDir, from: string | number | undefined, to: string | number | undefined, oneWay = false): string {
  const state = linked(dir);
  const [a, b] = ids(state, [from ?? '(none given)', to ?? '(none given)']);
  if (a === b) throw new ActionError('a link joins two different replicas');
  dir.update((s) => {
    const cuts = new Set(s.cuts ?? []);
    cuts.add(`${a}>${b}`);
    if (!oneWay) cuts.add(`${b}>${a}`);
    s.cuts = [...cuts].sort();
  });
  return oneWay ? `what replica ${a} sends replica ${b} is dropped` : `the link between replicas ${a} and ${b} is cut`;
}

/** Heals from → to (both ways unless `oneWay`), or every link with no replicas given. */
export function healLinks(dir: ClusterDir, from?: string | number, to?: string | number, oneWay = false): string {
  const state = linked(dir);
  if (from === undefined) {
    dir.update((s) => (s.cuts = []));
    return 'every link is healed';
  }
  const [a, b] = ids(state, [from, to ?? '(none given)']);
  dir.update((s) => (s.cuts = (s.cuts ?? []).filter((c) => c !== `${a}>${b}` && (oneWay || c !== `${b}>${a}`))));
  return oneWay ? `what replica ${a} sends replica ${b} is delivered again` : `the link between replicas ${a} and ${b} is healed`;
}

/** Every link between two groups cut both ways, every link inside a group healed; a replica in no group is a group of its own. */
export function partition(dir: ClusterDir, groups: (string | number)[][]): string {
  const state = linked(dir);
  const named = groups.map((g) => ids(state, g));
  const seen = named.flat();
  if (new Set(seen).size !== seen.length) throw new ActionError('a replica can be in one group only');
  for (const m of state.members) if (!seen.includes(m.id)) named.push([m.id]);
  const group = new Map(named.flatMap((g, i) => g.map((id) => [id, i] as const)));
  const cuts: string[] = [];
  for (const a of state.members) for (const b of state.members) if (a !== b && group.get(a.id) !== group.get(b.id)) cuts.push(`${a.id}>${b.id}`);
  dir.update((s) => (s.cuts = cuts.sort()));
  return `partitioned: ${named.filter((g) => g.length).map((g) => g.join(' ')).join(' | ')}`;
}

/** The cuts in words: "1 | 2 3" for a clean partition, else each link ("1-2" both ways, "1>2" one way). */
export function describeCuts(state: State): string | undefined {
  const cuts = new Set(state.cuts ?? []);
  if (cuts.size === 0) return undefined;
  const idList = state.members.map((m) => m.id);
  const joined = (a: number, b: number) => !cuts.has(`${a}>${b}`) && !cuts.has(`${b}>${a}`);
  // Groups: replicas joined by links that are whole both ways.
  const groups: number[][] = [];
  const placed = new Set<number>();
  for (const id of idList) {
    if (placed.has(id)) continue;
    const group = [id];
    placed.add(id);
    for (let i = 0; i < group.length; i++) for (const other of idList) if (!placed.has(other) && joined(group[i]!, other)) (group.push(other), placed.add(other));
    groups.push(group.sort((a, b) => a - b));
  }
  const groupOf = new Map(groups.flatMap((g, i) => g.map((id) => [id, i] as const)));
  const clean = groups.length > 1 && idList.every((a) => idList.every((b) => a === b || (groupOf.get(a) === groupOf.get(b) ? joined(a, b) : cuts.has(`${a}>${b}`) && cuts.has(`${b}>${a}`))));
  if (clean) return `partitioned: ${groups.map((g) => g.join(' ')).join(' | ')}`;
  const words: string[] = [];
  for (const a of idList) {
    for (const b of idList) {
      if (a === b || !cuts.has(`${a}>${b}`)) continue;
      if (cuts.has(`${b}>${a}`)) {
        if (a < b) words.push(`${a}-${b}`);
      } else words.push(`${a}>${b}`);
    }
  }
  return `cut: ${words.join(', ')} (a-b: both ways; a>b: what a sends b)`;
}
