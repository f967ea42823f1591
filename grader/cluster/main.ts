// `npm run cluster`: run, watch and break a cluster of replicas by hand (labs 6 and 7), on any OS.
//
//   npm run cluster -- start 3 [--impl DIR | --solution | --cmd "python3 replica.py"] [--view] [options]
//   npm run cluster -- status [--watch]
//   npm run cluster -- view
//   npm run cluster -- kill 2 | stop 2 | restart 2 | pause 2 | resume 2
//   npm run cluster -- cut 1 2 [--one-way] | partition 1 / 2 3 | heal [1 2]
//   npm run cluster -- down
//
// `start` launches N replicas of the lab's main program as processes of their own, which outlive
// this command, on ports BASE+1 to BASE+N, each with its own data folder and log file, and records
// them in a state file (state.ts); every other command reads it. `status` asks every replica for
// STATUS (spec/06-replication.md, section 10), so it works with any implementation of the spec.
//
// `start --view` also serves the view (view.ts), a page that shows the cluster live and breaks it
// at a click, and makes the replicas reach each other through proxies the view owns, so that it
// sees, cuts and holds every message between them. The replicas' links live as long as that
// command: it runs until Ctrl-C, which stops the cluster too. `view` serves the page for a cluster
// that is already running (and takes over the proxies of a --view cluster whose view has ended).
// Plain Node: no shell scripts, so the same commands work on Windows, macOS and Linux.
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildProgram, BuildFailure } from '../harness/build.js';
import { parseCommand } from '../harness/command.js';
import { claimPort, type PortClaim } from '../harness/ports.js';
import { findLab, loadLab } from '../labs.js';
import { askStatus, render, type Row } from './status.js';
import { ActionError, ClusterDir, canBind, cutLink, describeCuts, findMember, healLinks, killReplica, launch, partition, pauseReplica, ready, restartReplica, running, stopMember, stopReplica, viewRunning, type Member, type State } from './state.js';
import { startView, type View } from './view.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cwd = process.env.INIT_CWD ?? process.cwd();

const usage = `usage: npm run cluster -- <command> [options]

commands:
  start N               start N replicas (a new cluster: their data folders start empty)
  start N --view        the same, and serve the view (below); runs until Ctrl-C, which stops the cluster
  status [--watch]      each replica's STATUS as a table, and a verdict; --watch: again every second
  view                  serve a page on 127.0.0.1 that shows the cluster live and breaks it at a click;
                        with a cluster started with --view, every message between replicas too
  kill ID               kill -9 replica ID (a crash)
  stop ID               stop replica ID cleanly (SIGTERM; on Windows the same as kill)
  restart ID            start replica ID again on its port and data folder (stopping it first if it runs)
  pause ID | resume ID  stop replica ID with SIGSTOP, and let it go on (not on Windows)
  cut A B [--one-way]   drop what replicas A and B send each other (--one-way: only what A sends B)
  partition A B / C     cut every link between the groups (here: A and B | C); heal the rest
  heal [A B]            heal every link, or the link between A and B
  down                  stop every replica and forget the cluster (data folders and logs are kept)
  (cut, partition and heal need a cluster started with --view, whose view is running)

options for start:
  --lab N               the lab whose replica to run: 6 (default) or 7
  --impl DIR            the TypeScript replica in DIR (default: starter/NN-name)
  --solution            the reference solution
  --cmd "COMMAND"       run COMMAND as each replica, with the spec's flags appended
  --base-port P         replica i listens on port P + i (default 7100)
  --ports P1,P2,...     replica i listens on the i-th port instead
  --hosts H1,H2,...     replica i listens on the i-th address (default 127.0.0.1 for all)
  --heartbeat-ms H      default 500
  --timeout-ms T        default 2500
  --view                serve the view too
  --view-port P         the view's port (default: a free one; the URL is printed)

  --dir DIR             where the cluster's state, data folders and logs live (default .switchboard/cluster)
  --help                this text`;

function fail(message: string, code = 1): never {
  process.stderr.write(`cluster: ${message}\n`);
  process.exit(code);
}

function parse() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        lab: { type: 'string', default: '6' },
        impl: { type: 'string' },
        solution: { type: 'boolean' },
        cmd: { type: 'string' },
        'base-port': { type: 'string', default: '7100' },
        ports: { type: 'string' },
        hosts: { type: 'string' },
        'heartbeat-ms': { type: 'string', default: '500' },
        'timeout-ms': { type: 'string', default: '2500' },
        dir: { type: 'string' },
        watch: { type: 'boolean' },
        view: { type: 'boolean' },
        'view-port': { type: 'string' },
        'one-way': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    fail(`${(error as Error).message}\n\n${usage}`, 2);
  }
}

const { values, positionals } = parse();
const cluster = new ClusterDir(path.resolve(cwd, values.dir ?? path.join(root, '.switchboard', 'cluster')));

function load(): State {
  return cluster.read() ?? fail(`no cluster is running here (${cluster.file}); start one: npm run cluster -- start 3`);
}

function memberOf(state: State, id: string | undefined): Member {
  const found = findMember(state, id);
  if (typeof found === 'string') fail(found, 2);
  return found;
}

/** Runs an action of state.ts and prints its sentence, or fails with it. */
async function run(action: () => string | Promise<string>): Promise<void> {
  try {
    process.stdout.write(`${await action()}\n`);
  } catch (error) {
    if (error instanceof ActionError) fail(error.message);
    throw error;
  }
}



/** Serves the view until Ctrl-C (or SIGTERM); with `stopCluster`, the cluster stops with it. */
async function serve(stopCluster: boolean, claims: PortClaim[] = []): Promise<void> {
  let view: View;
  try {
    view = await startView(cluster, { root, port: values['view-port'] ? Number(values['view-port']) : undefined });
  } catch (error) {
    if (error instanceof ActionError) fail(error.message);
    throw error;
  }
  // The claims keep the proxies' ports marked as taken for as long as they listen.
  const release = () => claims.forEach((c) => c.release());
  const state = load();
  process.stdout.write(`view: ${view.url}\n`);
  if (!state.proxies) process.stdout.write('this cluster was started without --view: its replicas reach each other directly, so the page shows their state but not their messages, and cannot cut links\n');
  process.stdout.write(stopCluster ? 'Ctrl-C stops the view and the cluster\n' : 'Ctrl-C stops the view (the replicas keep running)\n');
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await view.close();
    release();
    if (stopCluster && cluster.exists()) await down();
    else if (state.proxies) process.stdout.write('the view has stopped: the replicas cannot reach each other until `npm run cluster -- view` runs again\n');
    process.exit(0);
  };
  // `down` in another terminal ends the cluster: the view ends with it.
  setInterval(() => {
    if (!cluster.exists()) {
      process.stdout.write('the cluster was stopped (npm run cluster -- down): the view ends\n');
      void stop();
    }
  }, 500).unref();
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  // Windows: Ctrl-Break and a closed console.
  process.on('SIGBREAK', () => void stop());
  await new Promise(() => undefined);
}

async function start(countText: string | undefined): Promise<void> {
  const count = Number(countText);
  if (!Number.isInteger(count) || count < 1 || count > 9) fail(`start wants a number of replicas from 1 to 9, not ${countText ?? 'nothing'}`, 2);
  if (cluster.exists() && load().members.some(running)) fail('a cluster is already running; stop it first: npm run cluster -- down');
  const labDir = findLab(root, values.lab!) ?? fail(`there is no lab ${values.lab}`, 2);
  const lab = await loadLab(root, labDir);
  const program = lab.programs[lab.mainProgram]!;
  if ([values.impl, values.solution, values.cmd].filter(Boolean).length > 1) fail('give one of --impl, --solution and --cmd', 2);

  let command: string[];
  let runIn: string;
  if (values.cmd) {
    command = parseCommand(values.cmd);
    runIn = cwd;
  } else {
    const impl = values.solution ? path.join(root, 'solutions', labDir) : values.impl ? path.resolve(cwd, values.impl) : path.join(root, 'starter', labDir);
    const entry = path.join(impl, program.file);
    if (!existsSync(entry)) fail(`there is no ${entry}`);
    try {
      command = [process.execPath, '--enable-source-maps', await buildProgram(entry, path.join(root, '.switchboard', 'build'))];
    } catch (error) {
      if (error instanceof BuildFailure) fail(`${entry} does not compile: ${error.message}`);
      throw error;
    }
    runIn = impl;
  }

  const base = Number(values['base-port']);
  const hosts = values.hosts?.split(',').map((h) => h.trim()).filter(Boolean) ?? [];
  const ports = values.ports?.split(',').map(Number) ?? Array.from({ length: count }, (_, i) => base + i + 1);
  if (ports.length !== count || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) fail(`the ports must be ${count} port numbers: --base-port P, or --ports P1,P2,...`, 2);
  const members: Member[] = Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    host: hosts[i] ?? hosts[hosts.length - 1] ?? '127.0.0.1',
    port: ports[i]!,
    data: path.join(cluster.dir, `replica-${i + 1}`, 'data'),
    log: path.join(cluster.dir, `replica-${i + 1}`, 'replica.log'),
  }));
  for (const m of members) if (!(await canBind(m.host, m.port))) fail(`cannot listen on ${m.host}:${m.port}: it is in use, or not an address of this machine (choose others with --base-port or --hosts)`);
  const address = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}:${port}`;
  // With the view, replica i reaches replica j at the proxy "i>j", on a port the kit claims.
  const claims: PortClaim[] = [];
  let proxies: Record<string, number> | undefined;
  if (values.view) {
    proxies = {};
    for (const from of members) {
      for (const to of members) {
        if (from === to) continue;
        const claim = await claimPort(`the cluster view's proxy from replica ${from.id} to ${to.id}`);
        claims.push(claim);
        proxies[`${from.id}>${to.id}`] = claim.port;
      }
    }
  }
  const peersOf = (m: Member) =>
    proxies
      ? members.filter((o) => o !== m).map((o) => `${o.id}=127.0.0.1:${proxies[`${m.id}>${o.id}`]}`).join(',')
      : members.map((o) => `${o.id}=${address(o.host, o.port)}`).join(',');
  const flags: Record<string, string[]> = {};
  for (const m of members) {
    rmSync(path.dirname(m.data), { recursive: true, force: true });
    flags[String(m.id)] = program.flags({ id: m.id, port: m.port, peers: peersOf(m), data: m.data, host: m.host === '127.0.0.1' ? undefined : m.host, heartbeatMs: Number(values['heartbeat-ms']), timeoutMs: Number(values['timeout-ms']) });
  }
  const state: State = { lab: labDir, command, cwd: runIn, flags, members, ...(proxies ? { proxies, cuts: [] } : {}) };
  cluster.save(state);
  // The view's proxies listen before any replica starts, so that none finds its peers missing.
  const serving = values.view ? serve(true, claims) : undefined;
  if (serving) while (!viewRunning(cluster.read() ?? state)) await delay(20);
  for (const m of members) launch(state, m);
  cluster.update((s) => (s.members = members));
  const up = await Promise.all(members.map(ready));
  for (const [i, m] of members.entries()) {
    process.stdout.write(`replica ${m.id}: ${up[i] ? 'listening' : 'NOT listening'} on ${m.host}:${m.port}, pid ${m.pid}, log ${path.relative(cwd, m.log)}\n`);
  }
  if (up.some((u) => !u)) {
    if (serving) process.stdout.write('some replicas did not start; read their logs (the page shows their last lines)\n');
    else fail('some replicas did not start; read their logs');
  }
  process.stdout.write(`started: ${state.command.join(' ')} ... (in ${path.relative(cwd, runIn) || '.'})\n`);
  if (serving) return serving;
  process.stdout.write('next: npm run cluster -- status --watch\n');
}

async function rows(state: State): Promise<Row[]> {
  return Promise.all(state.members.map(async (m) => ({
    id: m.id,
    address: `${m.host}:${m.port}`,
    process: running(m) ? (m.paused ? ('paused' as const) : ('running' as const)) : ('gone' as const),
    pid: m.pid,
    answer: await askStatus(m.host, m.port),
  })));
}

/** The table, its verdict, and what the view does to the links (if anything). */
async function table(): Promise<string> {
  const state = load();
  const lines = [render(await rows(state))];
  const cuts = describeCuts(state);
  if (cuts) lines.push(`links: ${cuts}${viewRunning(state) ? '' : ' (no view runs: every link is down until `npm run cluster -- view`)'}`);
  else if (state.proxies && !viewRunning(state)) lines.push('links: no view runs, so the replicas cannot reach each other: npm run cluster -- view');
  if (state.view && viewRunning(state)) lines.push(`view: ${state.view.url}`);
  return lines.join('\n');
}

async function status(): Promise<void> {
  if (!values.watch) {
    process.stdout.write(`${await table()}\n`);
    return;
  }
  const tty = process.stdout.isTTY === true;
  for (;;) {
    const text = await table();
    const stamp = new Date().toLocaleTimeString();
    process.stdout.write(tty ? `\x1b[2J\x1b[H${stamp}  (Ctrl-C to stop watching)\n${text}\n` : `${stamp}\n${text}\n\n`);
    await delay(1_000);
  }
}

async function down(): Promise<void> {
  const state = load();
  await Promise.all(state.members.map(stopMember));
  rmSync(cluster.file, { force: true });
  process.stdout.write(`stopped ${state.members.length} replicas; their data and logs are in ${path.relative(cwd, cluster.dir) || '.'}\n`);
}

/** "1 2 / 3" as groups: [[1, 2], [3]]. */
function groups(words: string[]): string[][] {
  const out: string[][] = [[]];
  for (const word of words.join(' ').split(/\s+/).filter(Boolean)) {
    for (const [i, part] of word.split('/').entries()) {
      if (i > 0) out.push([]);
      if (part) out.at(-1)!.push(part);
    }
  }
  return out.filter((g) => g.length > 0);
}

/** Link faults take effect through the view: say so when none runs. */
function needView(): void {
  const state = load();
  if (state.proxies && !viewRunning(state)) process.stderr.write('cluster: no view runs, so this takes effect when one does: npm run cluster -- view\n');
}

async function main(): Promise<void> {
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const [command, arg, arg2] = positionals;
  switch (command) {
    case 'start':
      return start(arg);
    case 'status':
      return status();
    case 'view':
      load();
      return serve(false);
    case 'kill':
      memberOf(load(), arg);
      return run(() => killReplica(cluster, arg));
    case 'stop':
      memberOf(load(), arg);
      return run(() => stopReplica(cluster, arg));
    case 'pause':
    case 'resume':
      memberOf(load(), arg);
      return run(() => pauseReplica(cluster, arg, command === 'pause'));
    case 'restart': {
      memberOf(load(), arg);
      let up = true;
      await run(async () => {
        const result = await restartReplica(cluster, arg);
        up = result.up;
        return result.text;
      });
      if (!up) fail(`replica ${arg} did not start; read ${path.relative(cwd, memberOf(load(), arg).log)}`);
      return;
    }
    case 'cut':
      await run(() => cutLink(cluster, arg, arg2, values['one-way'] === true));
      return needView();
    case 'heal':
      await run(() => healLinks(cluster, arg, arg2, values['one-way'] === true));
      return needView();
    case 'partition':
      await run(() => partition(cluster, groups(positionals.slice(1))));
      return needView();
    case 'down':
      return down();
    default:
      fail(`${command ? `unknown command "${command}"` : 'which command?'}\n\n${usage}`, 2);
  }
}

main().catch((error: Error) => fail(error.stack ?? error.message));
