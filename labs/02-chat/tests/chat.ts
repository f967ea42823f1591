// Helpers the lab 2 phase tests share: joining the room the way spec/02-chat.md section 3
// says, recognising error lines by their code, and reading lines in bulk for the phases that
// move hundreds of thousands of them. Not a test file itself (its name has no phase id).
import { readFileSync, readdirSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { Conn, Harness, Proc } from '../../../grader/harness/index.js';
import { GradeFailure, quote } from '../../../grader/harness/index.js';

/** The greeting: the first line on every connection, "* " and any text (section 3, item 1). */
export const greetingLine = /^\* /;

/** An error line with this code, with or without an explanation (section 6). */
export function errorLine(code: string): RegExp {
  return new RegExp(`^ERR ${code}(?: .*)?$`);
}

/** Connects and reads the greeting; the connection has no name yet. */
export async function connect(h: Harness, server: Proc, label: string): Promise<Conn> {
  const conn = await h.connect(server, { name: label });
  await conn.expectLine(greetingLine, { what: 'the greeting, a first line starting with "* " (section 3, item 1)' });
  return conn;
}

/** Connects, reads the greeting, sends `name` and reads the welcome. */
export async function join(h: Harness, server: Proc, name: string): Promise<Conn> {
  const conn = await connect(h, server, name);
  conn.send(`${name}\n`);
  await conn.expectLine(`* welcome ${name}`, { what: `the welcome after asking for the name ${name}` });
  return conn;
}

/**
 * Joins clients one after another. Each client already in the room reads the join notice of
 * every newcomer, so that when this returns no connection has anything left to read.
 */
export async function joinAll<const T extends readonly string[]>(h: Harness, server: Proc, names: T): Promise<{ -readonly [K in keyof T]: Conn }> {
  const conns: Conn[] = [];
  for (const name of names) {
    const conn = await join(h, server, name);
    for (const [i, other] of conns.entries()) {
      await other.expectLine(`* ${name} joined`, { what: `the notice that ${name} joined, at ${names[i]}` });
    }
    conns.push(conn);
  }
  return conns as { -readonly [K in keyof T]: Conn };
}

/** Reads lines until one matches `wanted`, and returns the lines before it. */
export async function linesUntil(conn: Conn, wanted: RegExp, what: string, timeoutMs = 5_000): Promise<string[]> {
  const before: string[] = [];
  for (;;) {
    const line = await conn.readLine({ what, timeoutMs });
    if (wanted.test(line)) return before;
    before.push(line);
    if (before.length > 10_000) throw new GradeFailure(`${conn.name} read 10000 lines waiting for ${what}, and none matched ${wanted}`);
  }
}

/**
 * Reads a connection's lines in bulk: each wait takes everything that has arrived, so a test
 * can check millions of lines without the cost of one wait per line.
 */
export class LineStream {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private ready: string[] = [];
  /** Bytes read so far, the partial line included. */
  bytes = 0;

  constructor(readonly conn: Conn) {}

  /** Every complete line that has arrived, waiting for at least one if there is none yet. */
  async lines(options: { what: string; timeoutMs?: number }): Promise<string[]> {
    while (this.ready.length === 0) {
      const chunk = await this.conn.readBytes(Math.max(1, this.conn.unread), options);
      this.bytes += chunk.length;
      const text = this.partial + this.decoder.write(chunk);
      const parts = text.split('\n');
      this.partial = parts.pop()!;
      this.ready = parts;
    }
    const out = this.ready;
    this.ready = [];
    return out;
  }

  /**
   * Every line until the other side closes the connection (or resets it), the last one even
   * without its newline.
   */
  async untilClosed(options: { what: string; timeoutMs?: number }): Promise<string[]> {
    const lines: string[] = [...this.ready];
    this.ready = [];
    for (;;) {
      try {
        lines.push(...(await this.lines(options)));
      } catch (error) {
        const finished = this.conn.socket.readableEnded || this.conn.socket.destroyed;
        if (this.conn.unread > 0 || !finished) throw error;
        if (this.partial) lines.push(this.partial);
        this.partial = '';
        return lines;
      }
    }
  }

  /** The next line. */
  async line(options: { what: string; timeoutMs?: number }): Promise<string> {
    if (this.ready.length === 0) this.ready = await this.lines(options);
    return this.ready.shift()!;
  }
}

/**
 * Starts the client program as ann against a fake server the test plays, and plays the server's
 * side of joining: the greeting, the name, the welcome, each printed by the client.
 */
export async function startClient(h: Harness, label: string): Promise<{ client: Proc; link: Conn }> {
  const fake = await h.fakeServer();
  const client = await h.start('client', { name: label, params: { port: fake.port, name: 'ann' } });
  const link = await fake.accept({ from: client, what: 'the client to connect' });
  link.send('* fake chat server: choose a name\n');
  await link.expectLine('ann', { what: 'the name given with --name, as the client\'s first line (section 10, item 1)' });
  link.send('* welcome ann\n');
  // Standard output holds exactly the lines of section 10, items 2 and 3, in order (item 7).
  await client.expectNextLines(['* fake chat server: choose a name', '* welcome ann'], { what: 'the greeting and the welcome, printed as they arrived' });
  return { client, link };
}

/** Fails with "expected X, got Y" for a line that has no business in a stream. */
export function unexpected(conn: Conn, line: string, expected: string): GradeFailure {
  return new GradeFailure(`${conn.name} got an unexpected line ${quote(line)}; ${expected}`);
}

/**
 * Resident memory in KiB of a process and its descendants, from Linux's /proc; undefined where
 * there is no /proc (macOS, Windows), and the tests then skip their memory check.
 */
export function residentKb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
    readFileSync(`/proc/${pid}/status`);
  } catch {
    return undefined;
  }
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const entry of entries) {
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const parent = Number(/PPid:\s+(\d+)/.exec(status)?.[1]);
      rss.set(Number(entry), Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0));
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  let total = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const next = stack.pop()!;
    total += rss.get(next) ?? 0;
    stack.push(...(children.get(next) ?? []));
  }
  return total;
}
