// `npm run cluster -- view`: one page, served on 127.0.0.1, that shows a running cluster live and
// breaks it at a click. The view process owns the proxies between the replicas (links.ts) when
// the cluster was started with --view, so the page draws every replica-to-replica message and
// can cut, partition and step them; it asks every replica for STATUS twice a second, as
// `status` does. Every action, the page's or a terminal's, goes through the cluster's folder
// (state.ts): the view reads it on every round, so `npm run cluster -- kill 2` shows on the page
// and a partition clicked on the page shows in `npm run cluster -- status`.
//
// The page (view.html) is one file with its script and style inline; it loads nothing (its
// Content-Security-Policy says so) and gets its updates as Server-Sent Events from node:http:
// `state` (the table, the verdict, the links, what step mode holds) when it changes, and `frame`
// for every message as it arrives and again when it is delivered or dropped.
import { openSync, readFileSync, readSync, closeSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listenClaimed, type PortClaim } from '../harness/ports.js';
import { startTime } from '../harness/procfs.js';
import { labDecoders, type DecoderFactory } from '../harness/trace.js';
import { T, decodeValue, map, message } from '../../labs/03-protocol/tests/wire.js';
import { Links, type Frame } from './links.js';
import { StatusLine, render, verdict, type Answer, type Row } from './status.js';
import { ActionError, ClusterDir, cannotPause, cutLink, describeCuts, healLinks, killReplica, partition, pauseReplica, restartReplica, running, viewRunning, type State } from './state.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface ViewOptions {
  root: string;
  /** Where to listen (default: a port the kit claims). */
  port?: number;
}

export interface View {
  url: string;
  links: Links;
  close(): Promise<void>;
}

interface ReplicaView {
  id: number;
  address: string;
  process: 'up' | 'down' | 'paused';
  pid?: number;
  answer?: Answer;
  /** Why STATUS told nothing: no answer, or a wrong one. */
  problem?: string;
  /** The last lines of its log. */
  log: string[];
  /** What its log says went wrong last: a starter's TODO that threw, or an error. */
  why?: string;
}

/** The last line of the log that says a TODO was reached (the starters' NotImplemented, starter/NN-name/todo.ts), or an error. */
function why(lines: string[]): string | undefined {
  const todo = [...lines].reverse().find((l) => /phase \S+ not started: .* is still a TODO/.test(l));
  if (todo) return todo.replace(/^.*?(phase \S+ not started)/, '$1');
  return [...lines].reverse().find((l) => /^\s*(\w*Error|Exception|Traceback|panic)\b/.test(l))?.trim();
}

/** The last `count` lines of a log file, from its last 4 KiB. */
function tail(file: string, count = 40): string[] {
  try {
    const size = statSync(file).size;
    const length = Math.min(size, 4096);
    const buffer = Buffer.alloc(length);
    const fd = openSync(file, 'r');
    readSync(fd, buffer, 0, length, size - length);
    closeSync(fd);
    return buffer.toString('utf8').split(/\r?\n/).filter((l) => l.trim()).slice(-count).map((l) => l.slice(0, 300));
  } catch {
    return [];
  }
}

function lastWords(file: string): { log: string[]; why?: string } {
  const lines = tail(file);
  return { log: lines.slice(-4), why: why(lines) };
}

/** One request and its reply on an open connection, framed as lab 3 frames them. */
class Client {
  private buffered = Buffer.alloc(0);
  private waiting: ((reply: { type: number; value: unknown } | undefined) => void) | undefined;

  private constructor(
    private readonly socket: net.Socket,
    readonly replica: number,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.settle();
    });
    socket.on('close', () => this.waiting?.(undefined));
    socket.on('error', () => this.waiting?.(undefined));
  }

  static connect(host: string, port: number, replica: number, timeoutMs: number): Promise<Client | undefined> {
    return new Promise((resolve) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => (socket.destroy(), resolve(undefined)), timeoutMs);
      socket.once('connect', () => (clearTimeout(timer), resolve(new Client(socket, replica))));
      socket.once('error', () => (clearTimeout(timer), resolve(undefined)));
    });
  }

  private settle(): void {
    if (this.buffered.length < 12) return;
    const length = this.buffered.readUInt32BE(8);
    if (this.buffered.length < 12 + length) return;
    const type = Number(this.buffered.readBigInt64BE(0));
    const raw = this.buffered.subarray(0, 12 + length);
    this.buffered = this.buffered.subarray(12 + length);
    // MESSAGE frames pushed to a logged-in client are not replies.
    if (type === T.MESSAGE) return this.settle();
    let value: unknown;
    try {
      value = decodeValue(raw.subarray(12));
    } catch {
      value = undefined;
    }
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ type, value });
  }

  ask(frame: Buffer, timeoutMs: number): Promise<{ type: number; value: unknown } | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => ((this.waiting = undefined), resolve(undefined)), timeoutMs);
      this.waiting = (reply) => (clearTimeout(timer), resolve(reply));
      this.socket.write(frame);
      this.settle();
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export async function startView(dir: ClusterDir, options: ViewOptions): Promise<View> {
  const first = dir.read();
  if (!first) throw new ActionError(`no cluster is running here (${dir.file}); start one: npm run cluster -- start 3 --view`);
  if (viewRunning(first) && first.view!.pid !== process.pid) throw new ActionError(`a view of this cluster already runs: ${first.view!.url} (pid ${first.view!.pid})`);
  const decoders: DecoderFactory = await labDecoders(options.root, first.lab);
  const page = readFileSync(path.join(here, 'view.html'), 'utf8');

  // The last messages, for a page that opens late; every one is also sent as it happens.
  const recent: Frame[] = [];
  const clients = new Set<http.ServerResponse>();
  const send = (event: string, data: unknown) => {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const c of clients) c.write(text);
  };
  const links = new Links(decoders, (frame) => {
    if (frame.state === 'held' || !recent.includes(frame)) {
      recent.push(frame);
      if (recent.length > 2_000) recent.splice(0, recent.length - 2_000);
    }
    send('frame', frame);
  });

  if (first.proxies) {
    for (const [key, port] of Object.entries(first.proxies)) {
      const [from, to] = key.split('>').map(Number) as [number, number];
      const target = first.members.find((m) => m.id === to)!;
      try {
        await links.add(from, to, target.host, target.port, port);
      } catch (error) {
        await links.closeAll();
        throw new ActionError(`cannot listen on 127.0.0.1:${port}, the proxy through which replica ${from} reaches replica ${to}: ${(error as Error).message}`);
      }
    }
  }

  let latest: unknown;
  let latestText = '';
  let round: Promise<void> | undefined;
  const chats: { at: number; text: string; ok: boolean }[] = [];
  let clientSeq = 0;
  const clientId = 1 + Math.floor(Math.random() * 2 ** 40);

  // One STATUS connection per replica and process: a restarted replica gets a new one.
  const lines = new Map<string, StatusLine>();
  const lineOf = (host: string, port: number, pid: number | undefined) => {
    const key = `${host}:${port}:${pid}`;
    let line = lines.get(key);
    if (!line) {
      for (const [k, old] of lines) if (k.startsWith(`${host}:${port}:`)) (old.close(), lines.delete(k));
      line = new StatusLine(host, port);
      lines.set(key, line);
    }
    return line;
  };

  async function look(): Promise<void> {
    const state = dir.read();
    if (!state) return;
    links.setCuts(new Set(state.cuts ?? []));
    const replicas: ReplicaView[] = await Promise.all(
      state.members.map(async (m) => {
        const up = running(m);
        const answer = up ? await lineOf(m.host, m.port, m.pid).ask(600) : undefined;
        return {
          id: m.id,
          address: `${m.host}:${m.port}`,
          process: !up ? 'down' : m.paused ? 'paused' : 'up',
          pid: m.pid,
          answer: typeof answer === 'object' ? answer : undefined,
          problem: typeof answer === 'string' ? `wrong answer to STATUS: ${answer}` : up && answer === undefined ? (m.paused ? 'paused: it answers nothing' : 'no answer to STATUS') : undefined,
          ...lastWords(m.log),
        } satisfies ReplicaView;
      }),
    );
    const rows: Row[] = replicas.map((r) => ({
      id: r.id,
      address: r.address,
      process: r.process === 'down' ? 'gone' : r.process === 'paused' ? 'paused' : 'running',
      pid: r.pid,
      answer: r.answer ?? (r.problem?.startsWith('wrong') ? r.problem.replace(/^wrong answer to STATUS: /, '') : undefined),
    }));
    const held = links.held();
    const snapshot = {
      lab: state.lab,
      dir: dir.dir,
      replicas,
      verdict: verdict(rows),
      table: render(rows),
      proxied: state.proxies !== undefined,
      cuts: state.cuts ?? [],
      links: describeCuts(state) ?? 'every link delivers',
      stepping: links.stepping,
      // The oldest held messages; a long step leaves thousands of heartbeats behind them.
      held: held.slice(0, 200).map((h) => ({ ...h.frame, first: h.first })),
      heldCount: held.length,
      canPause: cannotPause() ?? '',
      chats: chats.slice(-20),
    };
    const text = JSON.stringify(snapshot);
    if (text !== latestText) {
      latestText = text;
      latest = snapshot;
      send('state', snapshot);
    }
  }

  /** Looks again now, or after the round under way. */
  function lookNow(): Promise<void> {
    round = (round ?? Promise.resolve()).then(look, look);
    return round;
  }

  const timer = setInterval(() => void lookNow(), 500);

  /** The view's own client: signs up `from` and `to`, logs in as `from` and sends, trying the replica that says it is the primary first. */
  async function chat(from: string, to: string, text: string): Promise<string> {
    const state = dir.read();
    if (!state) throw new ActionError('the cluster is gone');
    const snapshot = latest as { replicas: ReplicaView[] } | undefined;
    const primary = snapshot?.replicas.find((r) => r.answer?.role === 'primary')?.id;
    const order = [...state.members].sort((a, b) => Number(b.id === primary) - Number(a.id === primary));
    const seq = ++clientSeq;
    const tried: string[] = [];
    for (const m of order) {
      if (!running(m)) continue;
      const client = await Client.connect(m.host, m.port, m.id, 1_000);
      if (!client) {
        tried.push(`replica ${m.id} refused the connection`);
        continue;
      }
      try {
        const started = performance.now();
        for (const name of [from, to]) {
          const r = await client.ask(message(T.CREATE_ACCOUNT, map({ name, password: 'pw' })), 3_000);
          if (!r) throw new ActionError(`replica ${m.id} did not answer CREATE_ACCOUNT`);
        }
        const login = await client.ask(message(T.LOGIN, map({ name: from, password: 'pw' })), 3_000);
        if (login?.type !== T.LOGGED_IN) {
          tried.push(`replica ${m.id} answered LOGIN with ${login ? describe(login) : 'nothing'}`);
          continue;
        }
        const sent = await client.ask(message(T.SEND, map({ to, text, client: BigInt(clientId), seq: BigInt(seq) })), 5_000);
        if (sent?.type === T.SENT) return `"${text}" from ${from} to ${to}: acknowledged by replica ${m.id} after ${Math.round(performance.now() - started)} ms (${describe(sent)})`;
        tried.push(`replica ${m.id} answered SEND with ${sent ? describe(sent) : 'nothing within 5 s'}`);
      } catch (error) {
        tried.push((error as Error).message);
      } finally {
        client.close();
      }
    }
    throw new ActionError(`"${text}" was not acknowledged: ${tried.join('; ') || 'no replica runs'}`);
  }

  async function act(body: Record<string, unknown>): Promise<string> {
    const id = body.id as number | undefined;
    switch (body.do) {
      case 'kill':
        return killReplica(dir, id);
      case 'restart':
        return (await restartReplica(dir, id)).text;
      case 'pause':
        return pauseReplica(dir, id, true);
      case 'resume':
        return pauseReplica(dir, id, false);
      case 'cut':
        return cutLink(dir, body.from as number, body.to as number, body.oneWay === true);
      case 'heal':
        return body.from === undefined ? healLinks(dir) : healLinks(dir, body.from as number, body.to as number, body.oneWay === true);
      case 'partition':
        return partition(dir, body.groups as number[][]);
      case 'step':
        if (!dir.read()?.proxies) throw new ActionError('step mode needs the view\'s proxies: start the cluster with --view');
        links.step(body.on === true);
        return body.on ? 'step mode: every message between replicas is held until you release or drop it' : 'step mode off: every held message was delivered, in order';
      case 'release':
      case 'drop': {
        const why = body.do === 'release' ? links.release(Number(body.frame)) : links.drop(Number(body.frame));
        if (why) throw new ActionError(why);
        return `message #${body.frame} ${body.do === 'release' ? 'delivered' : 'dropped'}`;
      }
      case 'send': {
        const from = String(body.from ?? '').trim() || 'ann';
        const to = String(body.to ?? '').trim() || 'bob';
        try {
          const text = await chat(from, to, String(body.text ?? ''));
          chats.push({ at: links.now(), text, ok: true });
          return text;
        } catch (error) {
          chats.push({ at: links.now(), text: (error as Error).message, ok: false });
          throw error;
        }
      }
      default:
        throw new ActionError(`unknown action ${JSON.stringify(body.do)}`);
    }
  }

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    // Only the page's own origin may act: a page elsewhere cannot POST JSON here without asking
    // first (and OPTIONS gets a 404), and a name that merely resolves to 127.0.0.1 is refused.
    if (!/^(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(request.headers.host ?? '')) {
      response.writeHead(403).end();
      return;
    }
    if (request.method === 'GET' && url.pathname === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      response.end(page);
    } else if (request.method === 'GET' && url.pathname === '/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      response.write(`retry: 1000\n\n`);
      if (latest) response.write(`event: state\ndata: ${JSON.stringify(latest)}\n\n`);
      for (const f of recent.slice(-400)) response.write(`event: frame\ndata: ${JSON.stringify(f)}\n\n`);
      clients.add(response);
      request.on('close', () => clients.delete(response));
    } else if (request.method === 'POST' && url.pathname === '/action') {
      if (request.headers['content-type'] !== 'application/json') {
        response.writeHead(415).end();
        return;
      }
      let body = '';
      request.on('data', (c: Buffer) => (body += c.toString()));
      request.on('end', async () => {
        let reply: { ok: boolean; text: string };
        try {
          reply = { ok: true, text: await act(JSON.parse(body) as Record<string, unknown>) };
        } catch (error) {
          if (!(error instanceof ActionError) && !(error instanceof SyntaxError)) console.error(error);
          reply = { ok: false, text: (error as Error).message };
        }
        await lookNow();
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(reply));
      });
    } else {
      response.writeHead(404).end();
    }
  });
  let claim: PortClaim | undefined;
  if (options.port) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, '127.0.0.1', () => (server.off('error', reject), resolve()));
    });
  } else claim = await listenClaimed(server, 'the cluster view');
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
  dir.update((s) => (s.view = { pid: process.pid, started: startTime(process.pid), url }));
  await lookNow();

  return {
    url,
    links,
    async close() {
      clearInterval(timer);
      await round;
      for (const line of lines.values()) line.close();
      for (const c of clients) c.end();
      clients.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      claim?.release();
      await links.closeAll();
      dir.update((s: State) => {
        if (s.view?.pid === process.pid) delete s.view;
      });
    },
  };
}

function describe(reply: { type: number; value: unknown }): string {
  const name = Object.entries(T).find(([, n]) => n === reply.type)?.[0] ?? `type ${reply.type}`;
  const value = reply.value instanceof Map ? [...reply.value].map(([k, v]) => `${k}: ${typeof v === 'bigint' ? String(v) : JSON.stringify(v)}`).join(', ') : '';
  return `${name} {${value}}`;
}
