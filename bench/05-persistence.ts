// Lab 5: what durability costs, and what group commit wins back. Every figure is acknowledged
// SENDs per second through the reference server (solutions/05-persistence): each client sends
// one SEND, waits for its SENT, sends the next, for a fixed time. Measured side by side, in turns:
//
//   - group commit (the reference, one sync per event-loop turn), 1 client and 64 clients;
//   - the floor: one sync per record (--sync each), 64 clients;
//   - the ceiling: no sync at all (--sync none), 64 clients;
//   - SQLite in WAL mode with synchronous=FULL, one transaction per SEND, 64 clients: what one
//     would pick instead. Only if better-sqlite3 is installed (it compiles from source, so it is
//     not among the kit's dependencies).
//
// Then recovery: the time the reference takes from start to accepting on a log of 100,000
// records; and the bytes a message takes on disk against the bytes of its lab 3 SEND frame.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { buildProgram } from '../grader/harness/build.js';
import { claimPort } from '../grader/harness/ports.js';
import { poll, withDeadline } from '../grader/harness/wait.js';
import { encodeValue } from '../solutions/05-persistence/encode.js';
import { FrameReader, encodeFrame } from '../solutions/05-persistence/frames.js';
import { Type } from '../solutions/05-persistence/messages.js';
import { RecordType, encodeRecord } from '../solutions/05-persistence/records.js';
import { valueMap } from '../solutions/05-persistence/values.js';

export const title = 'durable chat: acknowledged SENDs per second, group commit against the floor and the ceiling; recovery';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const seconds = 2;
const many = 64;

interface Running {
  child: ChildProcess;
  port: number;
}

function accepts(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const probe = net.connect({ port, host: '127.0.0.1' });
    probe.once('connect', () => (probe.destroy(), resolve(true)));
    probe.once('error', () => (probe.destroy(), resolve(undefined)));
  });
}

async function started(command: string[], flags: string[], onLine?: (line: string) => void): Promise<Running> {
  const claim = await claimPort('a bench server');
  const [file, ...args] = command;
  const child = spawn(file!, [...args, '--port', String(claim.port), ...flags], { stdio: ['ignore', 'pipe', 'ignore'] });
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (text: string) => text.split('\n').forEach((line) => onLine?.(line)));
  try {
    await poll(() => accepts(claim.port), { timeoutMs: 60_000, intervalMs: 5, explain: () => `${command.join(' ')} did not accept connections within 60 s` });
  } catch (error) {
    await stopped({ child, port: claim.port });
    throw error;
  }
  return { child, port: claim.port };
}

async function stopped(server: Running): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await withDeadline(exited, 10_000, () => 'a bench server did not exit within 10 s of SIGTERM');
}

/** One client: frames out, replies back in order. */
class Client {
  private readonly socket: net.Socket;
  private readonly reader = new FrameReader();
  private waiting: ((type: bigint) => void)[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      for (let frame = this.reader.next(); frame; frame = this.reader.next()) if (frame.type !== Type.MESSAGE) this.waiting.shift()?.(frame.type);
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' }, () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }

  call(type: bigint, fields: Record<string, string | bigint>): Promise<bigint> {
    this.socket.write(encodeFrame(type, encodeValue(valueMap(fields))));
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A data directory with accounts c0..c63 and an inbox, made once and copied for each run. */
async function template(server: string): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-05-'));
  const running = await started([process.execPath, server], ['--data', dir]);
  const setup = await Client.connect(running.port);
  for (const name of ['inbox', ...Array.from({ length: many }, (_, i) => `c${i}`)]) await setup.call(Type.CREATE_ACCOUNT, { name, password: 'pw' });
  setup.close();
  await stopped(running);
  return dir;
}

/** Acknowledged SENDs per second with `clients` clients, each one SEND in flight. */
async function sendRate(command: string[], flags: string[], clients: number): Promise<number> {
  const server = await started(command, flags);
  try {
    const peers = await Promise.all(Array.from({ length: clients }, () => Client.connect(server.port)));
    await Promise.all(peers.map((peer, i) => peer.call(Type.LOGIN, { name: `c${i}`, password: 'pw' })));
    let acknowledged = 0;
    const end = performance.now() + seconds * 1000;
    const began = performance.now();
    await Promise.all(peers.map(async (peer, i) => {
      for (let k = 0; performance.now() < end; k++) {
        const reply = await peer.call(Type.SEND, { to: 'inbox', text: `message ${k} from c${i}` });
        if (reply !== Type.SENT) throw new Error(`a SEND got reply type ${reply}`);
        acknowledged++;
      }
    }));
    const rate = acknowledged / ((performance.now() - began) / 1000);
    for (const peer of peers) peer.close();
    return rate;
  } finally {
    await stopped(server);
  }
}

/** The SQLite server: the same frames, LOGIN without a password check, one INSERT (one commit) per SEND. */
const sqliteServer = (modulePath: string) => `
import net from 'node:net';
import { createRequire } from 'node:module';
const Database = createRequire(import.meta.url)(${JSON.stringify(modulePath)});
const args = process.argv.slice(1);
const port = Number(args[args.indexOf('--port') + 1]);
const db = new Database(args[args.indexOf('--data') + 1] + '/chat.db');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec('CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, sender TEXT, recipient TEXT, text TEXT)');
const insert = db.prepare('INSERT INTO messages (sender, recipient, text) VALUES (?, ?, ?)');
function str(b, at) { const n = b.readUInt32BE(at + 1); return [b.toString('utf8', at + 5, at + 5 + n), at + 5 + n]; }
function fields(b) { const m = {}; let at = 5; for (let i = 0; i < b.readUInt32BE(1); i++) { const [k, a] = str(b, at); const [v, e] = str(b, a); m[k] = v; at = e; } return m; }
function reply(type, id) {
  const body = id === undefined ? Buffer.from([3, 0, 0, 0, 0]) : Buffer.concat([Buffer.from([3, 0, 0, 0, 1, 1, 0, 0, 0, 2]), Buffer.from('id'), Buffer.from([0]), Buffer.alloc(8)]);
  if (id !== undefined) body.writeBigInt64BE(BigInt(id), body.length - 8);
  const head = Buffer.alloc(12); head.writeBigInt64BE(BigInt(type)); head.writeUInt32BE(body.length, 8);
  return Buffer.concat([head, body]);
}
net.createServer((socket) => {
  let buf = Buffer.alloc(0); let name = '';
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 12 && buf.length >= 12 + buf.readUInt32BE(8)) {
      const type = Number(buf.readBigInt64BE(0)); const payload = buf.subarray(12, 12 + buf.readUInt32BE(8)); buf = buf.subarray(12 + payload.length);
      const f = fields(payload);
      if (type === 3) { name = f.name; socket.write(reply(103)); }
      else if (type === 6) socket.write(reply(106, insert.run(name, f.to, f.text).lastInsertRowid));
    }
  });
  socket.on('error', () => {});
}).listen(port, '127.0.0.1');
process.on('SIGTERM', () => { db.close(); process.exit(0); });
`;

/** A log of `count` records after the template's accounts: messages to the inbox, most of them delivered. */
function bigLog(dir: string, count: number): void {
  const chunks: Buffer[] = [];
  let index = BigInt(many + 1);
  const pending: bigint[] = [];
  while (chunks.length < count) {
    if (pending.length === 10) {
      chunks.push(encodeRecord(RecordType.MESSAGES_DELIVERED, valueMap({ ids: pending.splice(0, 9), index: ++index })));
      continue;
    }
    const id = ++index;
    pending.push(id);
    chunks.push(encodeRecord(RecordType.MESSAGE_SENT, valueMap({ from: `c${Number(id) % many}`, index: id, text: `message ${id} about nothing much`, to: 'inbox' })));
  }
  writeFileSync(path.join(dir, 'log'), Buffer.concat(chunks), { flag: 'a' });
}

/** Start to accepting, and the server's own "recovered ... in N ms" figure. */
async function startup(server: string, dir: string): Promise<{ wallMs: number; recoveryMs: number }> {
  let recoveryMs = NaN;
  const began = performance.now();
  const running = await started([process.execPath, server], ['--data', dir], (line) => {
    const match = / in (\d+) ms$/.exec(line);
    if (match && line.startsWith('recovered')) recoveryMs = Number(match[1]);
  });
  const wallMs = performance.now() - began;
  await stopped(running);
  return { wallMs, recoveryMs };
}

export default async function bench(): Promise<string[]> {
  const server = await buildProgram(path.join(root, 'solutions', '05-persistence', 'server.ts'), path.join(root, '.switchboard', 'build'));
  const base = await template(server);
  const lines: string[] = [];
  const copies: string[] = [];
  const copy = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-05-'));
    cpSync(base, dir, { recursive: true });
    copies.push(dir);
    return dir;
  };
  try {
    const reference = [process.execPath, server];
    const rate = (sync: string, clients: number) => sendRate(reference, ['--data', copy(), '--sync', sync], clients);
    // In turns, so that the machine's load falls on all of them alike.
    const one = await rate('batch', 1);
    const group = await rate('batch', many);
    const floor = await rate('each', many);
    const ceiling = await rate('none', many);
    const perSecond = (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`;
    lines.push(
      `acknowledged SENDs, each client one in flight, ${seconds} s per figure:`,
      `  group commit, 1 client:        ${perSecond(one)}`,
      `  group commit, ${many} clients:      ${perSecond(group)}   (${(group / one).toFixed(1)}x one client; the goal is 5x or more)`,
      `  one sync per record, ${many} clients: ${perSecond(floor)}   (the floor)`,
      `  no sync at all, ${many} clients:    ${perSecond(ceiling)}   (the ceiling; group commit is ${((100 * group) / ceiling).toFixed(0)}% of it)`,
    );
    const require = createRequire(import.meta.url);
    let sqlite: string | undefined;
    try {
      sqlite = require.resolve('better-sqlite3');
    } catch {
      sqlite = undefined;
    }
    if (sqlite) {
      const dir = copy();
      const sqliteRate = await sendRate([process.execPath, '--input-type=module', '-e', sqliteServer(sqlite), '--'], ['--data', dir], many);
      lines.push(`  SQLite (WAL, synchronous=FULL, a commit per SEND), ${many} clients: ${perSecond(sqliteRate)}   (reference / SQLite: ${(group / sqliteRate).toFixed(2)})`);
    } else {
      lines.push('  SQLite: not measured; better-sqlite3 is not installed (`npm install --no-save better-sqlite3@12`, which compiles from source, adds it)');
    }

    const big = copy();
    bigLog(big, 100_000);
    const megabytes = (statSync(path.join(big, 'log')).size / 1e6).toFixed(1);
    const empty = await startup(server, copy());
    const full = await startup(server, big);
    // The least any recovery does: read the log once and checksum it once, measured here and now.
    const readBegan = performance.now();
    zlib.crc32(readFileSync(path.join(big, 'log')));
    const readMs = performance.now() - readBegan;
    const [load] = os.loadavg();
    lines.push(
      `recovery of 100,000 records (${megabytes} MB): ${full.recoveryMs} ms by the server's own clock (the goal is under 1 s; ` +
        `reading and checksumming the log alone: ${Math.round(readMs)} ms${load ? `; load average ${load.toFixed(1)} on ${os.availableParallelism()} cores` : ''}); ` +
        `start to accepting ${Math.round(full.wallMs)} ms, against ${Math.round(empty.wallMs)} ms on an empty log`,
    );

    const text = 'message 12345 from c17: on my way';
    const record = encodeRecord(RecordType.MESSAGE_SENT, valueMap({ from: 'c17', index: 123_456n, text, to: 'inbox' })).length;
    const delivered = encodeRecord(RecordType.MESSAGES_DELIVERED, valueMap({ ids: [123_456n], index: 123_457n })).length;
    const frame = encodeFrame(Type.SEND, encodeValue(valueMap({ text, to: 'inbox' }))).length;
    lines.push(
      `bytes on disk per message (${text.length}-character text): ${record} for its MESSAGE_SENT record, against ${frame} for its lab 3 SEND frame ` +
        `(${(record / frame).toFixed(2)}x); its delivery adds ${delivered} alone, or about 9 per message when a READ delivers many`,
    );
  } finally {
    for (const dir of [base, ...copies]) rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}
