// Lab 2: fan-out through the reference chat server. 200 clients join; then each sends 50 lines
// at once, and every client counts the lines it receives until it has everyone else's:
// 200 x 199 x 50 = 1,990,000 deliveries. The figure is deliveries per second, from the first
// line sent to the last line received.
//
// The ceiling is the smallest broadcast loop there is, written straight on node:net: every
// chunk a client sends is written as it is to every other client, with no lines, no names, no
// queue and no bound. The reference server does all of those, so it is slower; the ratio says by
// how much, and a server that is quadratic or stalls shows up as a ratio that collapses. The two
// are measured in turn, three times each, in one run; the median of each is reported.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../grader/harness/build.js';
import { claimPort } from '../grader/harness/ports.js';
import { poll, withDeadline } from '../grader/harness/wait.js';

export const title = 'lab 2 fan-out, 200 clients';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const clients = 200;
const messages = 50;
const trials = 3;

/** The ceiling: each connection's bytes, as they come, to every other connection. */
const broadcastLoop = `
import net from 'node:net';
const peers = new Set();
net.createServer((socket) => {
  peers.add(socket);
  socket.write('+');
  socket.on('data', (chunk) => { for (const peer of peers) if (peer !== socket) peer.write(chunk); });
  socket.on('error', () => {});
  socket.on('close', () => peers.delete(socket));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function accepts(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const probe = net.connect({ port, host: '127.0.0.1' });
    probe.once('connect', () => (probe.destroy(), resolve(true)));
    probe.once('error', () => (probe.destroy(), resolve(undefined)));
  });
}

async function started(command: string[]): Promise<{ child: ChildProcess; port: number }> {
  const { port } = await claimPort('a bench server');
  const [file, ...args] = command;
  const child = spawn(file!, [...args, '--port', String(port)], { stdio: 'ignore', env: { ...process.env, PORT: String(port) } });
  try {
    await poll(() => accepts(port), { timeoutMs: 10_000, intervalMs: 20, explain: () => `${command.join(' ')} did not accept connections within 10 s` });
  } catch (error) {
    await stopped(child);
    throw error;
  }
  return { child, port };
}

async function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** A client that counts the newlines it receives and calls back when a count is reached. */
class Counter {
  readonly socket: net.Socket;
  lines = 0;
  firstByte = false;
  private target = Infinity;
  private reached: (() => void) | undefined;
  private firstByteSeen: (() => void) | undefined;

  constructor(port: number) {
    this.socket = net.connect({ port, host: '127.0.0.1' });
    this.socket.setNoDelay(true);
    // A server that fails resets its clients; the deadlines in fanOut() report it.
    this.socket.on('error', () => undefined);
    this.socket.on('data', (chunk: Buffer) => {
      if (!this.firstByte) {
        this.firstByte = true;
        this.firstByteSeen?.();
      }
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) this.lines++;
      if (this.lines >= this.target) this.reached?.();
    });
  }

  /** Resolves once `lines` lines in all have arrived. */
  until(lines: number): Promise<void> {
    this.target = lines;
    if (this.lines >= lines) return Promise.resolve();
    return new Promise((resolve) => (this.reached = resolve));
  }

  greeted(): Promise<void> {
    if (this.firstByte) return Promise.resolve();
    return new Promise((resolve) => (this.firstByteSeen = resolve));
  }
}

/**
 * Connects the clients (and, for the chat server, gives each a name), then times the fan-out.
 * The chat lines are counted after the lines every client already had once all had joined
 * (greeting, welcome, join notices).
 */
async function fanOut(port: number, options: { names: boolean }): Promise<number> {
  const counters: Counter[] = [];
  // With names, client i has had the greeting, its welcome and the joins of those after it.
  const before = Array.from({ length: clients }, (_, i) => (options.names ? 2 + (clients - 1 - i) : 0));
  const joining = async () => {
    for (let i = 0; i < clients; i++) {
      const counter = new Counter(port);
      counters.push(counter);
      await counter.greeted();
      if (options.names) {
        counter.socket.write(`b${i}\n`);
        // Greeting and welcome: two lines.
        await counter.until(2);
      }
    }
    await Promise.all(counters.map((counter, i) => counter.until(before[i]!)));
  };
  await withDeadline(joining(), 60_000, () => `the clients did not all join within 60 s: ${counters.length} of ${clients} connected`);

  const text = Array.from({ length: messages }, (_, k) => `line ${k} of a fan-out test\n`).join('');
  const sentAt = performance.now();
  for (const counter of counters) counter.socket.write(text);
  const expected = counters.map((_, i) => before[i]! + (clients - 1) * messages);
  await withDeadline(Promise.all(counters.map((counter, i) => counter.until(expected[i]!))), 120_000, () => {
    const done = counters.filter((counter, i) => counter.lines >= expected[i]!).length;
    return `the fan-out stalled: after 120 s, ${done} of ${clients} clients had every line`;
  });
  const seconds = (performance.now() - sentAt) / 1000;
  for (const counter of counters) counter.socket.destroy();
  return (clients * (clients - 1) * messages) / seconds;
}

export default async function bench(): Promise<string[]> {
  const server = await buildProgram(path.join(root, 'solutions', '02-chat', 'server.ts'), path.join(root, '.switchboard', 'build'));
  const reference: number[] = [];
  const ceiling: number[] = [];
  for (let trial = 0; trial < trials; trial++) {
    const chat = await started([process.execPath, server]);
    try {
      reference.push(await fanOut(chat.port, { names: true }));
    } finally {
      await stopped(chat.child);
    }
    const loop = await started([process.execPath, '--input-type=module', '-e', broadcastLoop, '--']);
    try {
      ceiling.push(await fanOut(loop.port, { names: false }));
    } finally {
      await stopped(loop.child);
    }
  }
  const rate = (values: number[]) => `${(median(values) / 1e6).toFixed(2)} million`;
  const each = (values: number[]) => values.map((v) => (v / 1e6).toFixed(2)).join(', ');
  return [
    `${clients} clients x ${messages} lines each = ${clients * (clients - 1) * messages} deliveries, median of ${trials}`,
    `reference chat server (solutions/02-chat): ${rate(reference)} deliveries per second (${each(reference)})`,
    `bare broadcast loop on node:net (ceiling): ${rate(ceiling)} deliveries per second (${each(ceiling)})`,
    `reference / ceiling: ${(median(reference) / median(ceiling)).toFixed(2)}`,
  ];
}
