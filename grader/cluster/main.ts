// `npm run cluster`: run, watch and break a cluster of replicas by hand (labs 6 and 7), on any OS.
//
//   npm run cluster -- start 3 [--impl DIR | --solution | --cmd "python3 replica.py"] [options]
//   npm run cluster -- status [--watch]
//   npm run cluster -- kill 2 | stop 2 | restart 2
//   npm run cluster -- down
//
// `start` launches N replicas of the lab's main program as processes of their own, which outlive
// this command, on ports BASE+1 to BASE+N, each with its own data folder and log file, and records
// them in a state file; every other command reads it. `status` asks every replica for STATUS
// (spec/06-replication.md, section 10), so it works with any implementation of the spec. Plain
// Node: no shell scripts, so the same commands work on Windows, macOS and Linux.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildProgram, BuildFailure } from '../harness/build.js';
import { parseCommand } from '../harness/command.js';
import { isZombie, processAlive, startTime } from '../harness/procfs.js';
import { findLab, loadLab } from '../labs.js';
import { askStatus, render, type Row } from './status.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cwd = process.env.INIT_CWD ?? process.cwd();

const usage = `usage: npm run cluster -- <command> [options]

commands:
  start N               start N replicas (a new cluster: their data folders start empty)
  status [--watch]      each replica's STATUS as a table, and a verdict; --watch: again every second
  kill ID               kill -9 replica ID (a crash)
  stop ID               stop replica ID cleanly (SIGTERM; on Windows the same as kill)
  restart ID            start replica ID again on its port and data folder (stopping it first if it runs)
  down                  stop every replica and forget the cluster (data folders and logs are kept)

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

  --dir DIR             where the cluster's state, data folders and logs live (default .switchboard/cluster)
  --help                this text`;

interface Member {
  id: number;
  host: string;
  port: number;
  data: string;
  log: string;
  pid?: number;
  /** The process's start time (Linux), so that a reused pid is never signalled. */
  started?: string;
}

interface State {
  lab: string;
  command: string[];
  cwd: string;
  /** The flags each replica gets after the command, by id. */
  flags: Record<string, string[]>;
  members: Member[];
}

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
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    fail(`${(error as Error).message}\n\n${usage}`, 2);
  }
}

const { values, positionals } = parse();
const stateDir = path.resolve(cwd, values.dir ?? path.join(root, '.switchboard', 'cluster'));
const stateFile = path.join(stateDir, 'cluster.json');

function load(): State {
  if (!existsSync(stateFile)) fail(`no cluster is running here (${stateFile}); start one: npm run cluster -- start 3`);
  return JSON.parse(readFileSync(stateFile, 'utf8')) as State;
}

function save(state: State): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`);
}

/** True if `member`'s recorded process is still the one the tool started. */
function running(member: Member): boolean {
  // A killed replica whose new parent has not reaped it yet is a zombie: gone.
  if (member.pid === undefined || !processAlive(member.pid) || isZombie(member.pid)) return false;
  return member.started === undefined || startTime(member.pid) === member.started;
}

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => (socket.destroy(), resolve(false)));
  });
}

function launch(state: State, member: Member): void {
  mkdirSync(path.dirname(member.log), { recursive: true });
  const out = openSync(member.log, 'a');
  const [file, ...args] = state.command;
  const child = spawn(file!, [...args, ...state.flags[String(member.id)]!], { cwd: state.cwd, detached: true, stdio: ['ignore', out, out], windowsHide: true });
  closeSync(out);
  child.on('error', (error) => fail(`could not start replica ${member.id}: ${error.message}`));
  child.unref();
  member.pid = child.pid;
  member.started = child.pid === undefined ? undefined : startTime(child.pid);
}

/** Waits until the replica accepts connections, or its process ends, or 15 s pass. */
async function ready(member: Member): Promise<boolean> {
  const end = Date.now() + 15_000;
  while (Date.now() < end) {
    if (await accepts(member.host, member.port)) return true;
    if (!running(member)) return false;
    await delay(100);
  }
  return false;
}

function signal(member: Member, sig: NodeJS.Signals): boolean {
  if (!running(member)) return false;
  try {
    process.kill(member.pid!, sig);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL if it has not exited within 3 s. */
async function stopMember(member: Member): Promise<void> {
  if (!signal(member, 'SIGTERM')) return;
  const end = Date.now() + 3_000;
  while (Date.now() < end && running(member)) await delay(50);
  signal(member, 'SIGKILL');
}

function memberOf(state: State, id: string | undefined): Member {
  const member = state.members.find((m) => String(m.id) === id);
  if (!member) fail(`there is no replica ${id ?? '(none given)'}; the replicas are ${state.members.map((m) => m.id).join(', ')}`, 2);
  return member;
}

async function start(countText: string | undefined): Promise<void> {
  const count = Number(countText);
  if (!Number.isInteger(count) || count < 1 || count > 9) fail(`start wants a number of replicas from 1 to 9, not ${countText ?? 'nothing'}`, 2);
  if (existsSync(stateFile) && load().members.some(running)) fail('a cluster is already running; stop it first: npm run cluster -- down');
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
    data: path.join(stateDir, `replica-${i + 1}`, 'data'),
    log: path.join(stateDir, `replica-${i + 1}`, 'replica.log'),
  }));
  for (const m of members) if (!(await canBind(m.host, m.port))) fail(`cannot listen on ${m.host}:${m.port}: it is in use, or not an address of this machine (choose others with --base-port or --hosts)`);
  const peers = members.map((m) => `${m.id}=${m.host.includes(':') ? `[${m.host}]` : m.host}:${m.port}`).join(',');
  const flags: Record<string, string[]> = {};
  for (const m of members) {
    rmSync(path.dirname(m.data), { recursive: true, force: true });
    flags[String(m.id)] = program.flags({ id: m.id, port: m.port, peers, data: m.data, host: m.host === '127.0.0.1' ? undefined : m.host, heartbeatMs: Number(values['heartbeat-ms']), timeoutMs: Number(values['timeout-ms']) });
  }
  const state: State = { lab: labDir, command, cwd: runIn, flags, members };
  for (const m of members) launch(state, m);
  save(state);
  const up = await Promise.all(members.map(ready));
  for (const [i, m] of members.entries()) {
    process.stdout.write(`replica ${m.id}: ${up[i] ? 'listening' : 'NOT listening'} on ${m.host}:${m.port}, pid ${m.pid}, log ${path.relative(cwd, m.log)}\n`);
  }
  if (up.some((u) => !u)) fail('some replicas did not start; read their logs');
  process.stdout.write(`started: ${state.command.join(' ')} ... (in ${path.relative(cwd, runIn) || '.'})\nnext: npm run cluster -- status --watch\n`);
}

async function rows(state: State): Promise<Row[]> {
  return Promise.all(state.members.map(async (m) => ({
    id: m.id,
    address: `${m.host}:${m.port}`,
    process: running(m) ? ('running' as const) : ('gone' as const),
    pid: m.pid,
    answer: await askStatus(m.host, m.port),
  })));
}

async function status(): Promise<void> {
  const state = load();
  if (!values.watch) {
    process.stdout.write(`${render(await rows(state))}\n`);
    return;
  }
  const tty = process.stdout.isTTY === true;
  for (;;) {
    const table = render(await rows(state));
    const stamp = new Date().toLocaleTimeString();
    process.stdout.write(tty ? `\x1b[2J\x1b[H${stamp}  (Ctrl-C to stop watching)\n${table}\n` : `${stamp}\n${table}\n\n`);
    await delay(1_000);
  }
}

async function main(): Promise<void> {
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const [command, arg] = positionals;
  switch (command) {
    case 'start':
      return start(arg);
    case 'status':
      return status();
    case 'kill': {
      const member = memberOf(load(), arg);
      if (!signal(member, 'SIGKILL')) fail(`replica ${member.id} is not running`);
      process.stdout.write(`replica ${member.id} (pid ${member.pid}) killed\n`);
      return;
    }
    case 'stop': {
      const member = memberOf(load(), arg);
      if (!running(member)) fail(`replica ${member.id} is not running`);
      await stopMember(member);
      process.stdout.write(`replica ${member.id} (pid ${member.pid}) stopped\n`);
      return;
    }
    case 'restart': {
      const state = load();
      const member = memberOf(state, arg);
      await stopMember(member);
      launch(state, member);
      save(state);
      const up = await ready(member);
      process.stdout.write(`replica ${member.id}: ${up ? 'listening' : 'NOT listening'} on ${member.host}:${member.port}, pid ${member.pid}\n`);
      if (!up) fail(`replica ${member.id} did not start; read ${path.relative(cwd, member.log)}`);
      return;
    }
    case 'down': {
      const state = load();
      await Promise.all(state.members.map(stopMember));
      rmSync(stateFile, { force: true });
      process.stdout.write(`stopped ${state.members.length} replicas; their data and logs are in ${path.relative(cwd, stateDir) || '.'}\n`);
      return;
    }
    default:
      fail(`${command ? `unknown command "${command}"` : 'which command?'}\n\n${usage}`, 2);
  }
}

main().catch((error: Error) => fail(error.stack ?? error.message));
