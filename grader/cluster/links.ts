// The view's proxies: one per ordered pair of replicas, so that replica i reaches replica j only
// through the proxy "i>j" (as in the grader's own clusters, grader/replication/cluster.ts). Each
// proxy reads the two byte streams of every connection through the lab's decoder
// (labs/NN-name/tests/trace.ts, the one the trace pages use), so it passes on whole messages,
// and can show each one, drop it, or hold it.
//
// Step mode holds every message in its connection's queue until the user releases or drops it.
// TCP delivers a connection's bytes in order, so only the oldest held message of a connection
// (one direction of it) can be released; any held message can be dropped, as if the sender had
// never written it (the stream stays framed: a dropped message is whole). A link cut one way
// drops what goes that way, with its connections left open; cut both ways, the proxy resets its
// connections and refuses new ones, as a partition does (grader/harness/proxy.ts does the same).
import net from 'node:net';
import type { DecoderFactory, StreamDecoder } from '../harness/trace.js';

export interface Frame {
  /** Numbered from 1, across every proxy of the view. */
  id: number;
  from: number;
  to: number;
  type: string;
  text: string;
  size: number;
  /** When it reached the proxy, and when it was delivered or dropped: ms since the view began. */
  arrived: number;
  done?: number;
  state: 'held' | 'delivered' | 'dropped';
  why?: string;
}

interface Pending {
  frame: Frame;
  raw: Buffer;
}

/** One direction of one connection through a proxy. */
class Pipe {
  readonly queue: Pending[] = [];
  readonly decoder: StreamDecoder;

  constructor(
    readonly from: number,
    readonly to: number,
    readonly out: net.Socket,
    decoders: DecoderFactory,
  ) {
    this.decoder = decoders({ from: `replica ${from}`, to: `replica ${to}` });
  }
}

/** What every proxy shares: the clock, the numbering, step mode and where frames are told. */
export class Links {
  private readonly began = performance.now();
  private nextId = 0;
  private readonly pipes = new Set<Pipe>();
  private readonly relays: Relay[] = [];
  stepping = false;

  constructor(
    readonly decoders: DecoderFactory,
    /** Told of every frame when it arrives and again when it is delivered or dropped. */
    readonly told: (frame: Frame) => void,
  ) {}

  now(): number {
    return Math.round(performance.now() - this.began);
  }

  /** A proxy for `from` reaching `to` at host:port, listening on 127.0.0.1:`listen`. */
  async add(from: number, to: number, host: string, port: number, listen: number): Promise<Relay> {
    const relay = new Relay(this, from, to, host, port);
    await relay.listen(listen);
    this.relays.push(relay);
    return relay;
  }

  relay(from: number, to: number): Relay | undefined {
    return this.relays.find((r) => r.from === from && r.to === to);
  }

  /** Applies the cuts ("1>2": what 1 sends 2 is dropped) to every proxy. */
  setCuts(cuts: Set<string>): void {
    for (const r of this.relays) r.setCuts(cuts.has(`${r.from}>${r.to}`), cuts.has(`${r.to}>${r.from}`));
  }

  /** Step mode on: every message waits. Off: every held message is delivered, in order. */
  step(on: boolean): void {
    this.stepping = on;
    if (!on) for (const pipe of this.pipes) while (pipe.queue.length) this.deliver(pipe, pipe.queue.shift()!);
  }

  /** The messages held now, oldest first, each with whether it is first on its connection (so it can be released). */
  held(): { frame: Frame; first: boolean }[] {
    const out: { frame: Frame; first: boolean }[] = [];
    for (const pipe of this.pipes) pipe.queue.forEach((p, i) => out.push({ frame: p.frame, first: i === 0 }));
    return out.sort((a, b) => a.frame.id - b.frame.id);
  }

  private find(id: number): { pipe: Pipe; index: number } | undefined {
    for (const pipe of this.pipes) {
      const index = pipe.queue.findIndex((p) => p.frame.id === id);
      if (index >= 0) return { pipe, index };
    }
    return undefined;
  }

  /** Delivers held message `id`; a sentence if it cannot be (it is not held, or an older one of its connection is). */
  release(id: number): string | undefined {
    const found = this.find(id);
    if (!found) return `message #${id} is not held`;
    if (found.index > 0) return `message #${id} waits behind #${found.pipe.queue[0]!.frame.id} on the same connection: TCP delivers a connection's bytes in order`;
    this.deliver(found.pipe, found.pipe.queue.shift()!);
    return undefined;
  }

  /** Drops held message `id`. */
  drop(id: number): string | undefined {
    const found = this.find(id);
    if (!found) return `message #${id} is not held`;
    const [pending] = found.pipe.queue.splice(found.index, 1);
    this.finish(pending!.frame, 'dropped', 'dropped in step mode');
    return undefined;
  }

  /** A connection's two pipes, known until it closes. */
  open(pipe: Pipe): void {
    this.pipes.add(pipe);
  }

  /** The connection closed: what it still held is lost. */
  close(pipe: Pipe, why: string): void {
    if (!this.pipes.delete(pipe)) return;
    for (const p of pipe.queue.splice(0)) this.finish(p.frame, 'dropped', why);
  }

  /** Bytes arrived on a pipe: each whole message is delivered, held or dropped. */
  arrive(pipe: Pipe, chunk: Buffer, cut: boolean): void {
    for (const m of pipe.decoder.push(chunk)) {
      const frame: Frame = { id: ++this.nextId, from: pipe.from, to: pipe.to, type: m.type, text: m.text, size: m.raw.length, arrived: this.now(), state: 'held' };
      const pending = { frame, raw: Buffer.from(m.raw) };
      if (cut) this.finish(frame, 'dropped', 'the link is cut that way');
      else if (this.stepping || pipe.queue.length > 0) {
        pipe.queue.push(pending);
        this.told(frame);
      } else this.deliver(pipe, pending);
    }
  }

  private deliver(pipe: Pipe, { frame, raw }: Pending): void {
    if (pipe.out.destroyed || pipe.out.writableEnded) return this.finish(frame, 'dropped', 'the connection closed first');
    pipe.out.write(raw);
    this.finish(frame, 'delivered');
  }

  private finish(frame: Frame, state: 'delivered' | 'dropped', why?: string): void {
    frame.state = state;
    frame.done = this.now();
    if (why) frame.why = why;
    this.told(frame);
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.relays.map((r) => r.close()));
  }
}

interface Connection {
  client: net.Socket;
  upstream: net.Socket;
  forward: Pipe;
  backward: Pipe;
}

/** The proxy through which replica `from` reaches replica `to`: forward is from → to, backward the replies. */
export class Relay {
  private readonly server = net.createServer((socket) => this.accept(socket));
  private readonly connections = new Set<Connection>();
  private cutForward = false;
  private cutBackward = false;

  constructor(
    private readonly links: Links,
    readonly from: number,
    readonly to: number,
    private readonly host: string,
    private readonly port: number,
  ) {}

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  private get partitioned(): boolean {
    return this.cutForward && this.cutBackward;
  }

  setCuts(forward: boolean, backward: boolean): void {
    this.cutForward = forward;
    this.cutBackward = backward;
    if (this.partitioned) for (const c of [...this.connections]) this.end(c, 'the link was partitioned');
  }

  private accept(client: net.Socket): void {
    if (this.partitioned) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host: this.host, port: this.port });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const c: Connection = {
      client,
      upstream,
      forward: new Pipe(this.from, this.to, upstream, this.links.decoders),
      backward: new Pipe(this.to, this.from, client, this.links.decoders),
    };
    this.connections.add(c);
    this.links.open(c.forward);
    this.links.open(c.backward);
    client.on('data', (chunk: Buffer) => this.links.arrive(c.forward, chunk, this.cutForward));
    upstream.on('data', (chunk: Buffer) => this.links.arrive(c.backward, chunk, this.cutBackward));
    // Either end closing or failing ends both: the replicas connect again, as they must after any loss.
    for (const socket of [client, upstream]) {
      socket.on('error', () => this.end(c, 'the connection failed'));
      socket.on('close', () => this.end(c, 'the connection closed'));
      socket.on('end', () => this.end(c, 'the connection closed'));
    }
  }

  private end(c: Connection, why: string): void {
    if (!this.connections.delete(c)) return;
    this.links.close(c.forward, why);
    this.links.close(c.backward, why);
    c.client.destroy();
    c.upstream.destroy();
  }

  async close(): Promise<void> {
    for (const c of [...this.connections]) this.end(c, 'the view stopped');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
