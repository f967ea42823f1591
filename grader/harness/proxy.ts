// A TCP proxy the harness puts between two peers, to inject the faults of a real network:
// latency, a link that silently stops delivering, a cut connection, a partition that also
// refuses new connections. Both directions of every connection go through it, and a tap sees
// every chunk, so a lab can show which messages crossed which link. An observer (the test's
// trace) learns when each chunk arrived and when it was delivered or lost, and every fault.
import net from 'node:net';

export type Direction = 'forward' | 'backward';
export type Mode = 'open' | 'hold' | 'blackhole' | 'partition';

interface Link {
  /** Numbered from 1 in the order the proxy accepted them. */
  id: number;
  client: net.Socket;
  upstream: net.Socket;
  /** Chunks waiting in 'hold' mode, or behind a delay, per direction. */
  held: { forward: (Buffer | null)[]; backward: (Buffer | null)[] };
}

/** Told of every chunk and fault, at the moment it happens (grader/harness/trace.ts). */
export interface ProxyObserver {
  /** A new connection, from the socket `client` on the proxy's side. */
  accepted(link: number, client: net.Socket): void;
  /**
   * The proxy's own connection to the target opened for `link`: the connecting program now has a
   * connection that works. (An accepted one whose target refuses is reset, and the program may
   * never see it open.)
   */
  connected?(link: number): void;
  arrived(link: number, direction: Direction, chunk: Buffer): void;
  delivered(link: number, direction: Direction, chunk: Buffer): void;
  dropped(link: number, direction: Direction, chunk: Buffer, why: string): void;
  fault(what: string, text: string): void;
}

export class FaultProxy {
  // Half-open: a FIN from one side must not make the proxy close the other direction early.
  private server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
  private links = new Set<Link>();
  private mode: Mode = 'open';
  /** The directions the current mode applies to: both, or one for a one-way fault. */
  private faulty = new Set<Direction>(['forward', 'backward']);
  private delayMs = 0;
  /** Chunks in flight behind a delay; kept so that order is preserved. */
  private pendingTimers = new Set<NodeJS.Timeout>();
  port = 0;
  /** Called with every chunk the proxy passes on. */
  tap: ((direction: Direction, chunk: Buffer) => void) | undefined;
  observer: ProxyObserver | undefined;
  private linkCount = 0;
  readonly stats = { connections: 0, forwardBytes: 0, backwardBytes: 0, droppedBytes: 0 };

  constructor(
    readonly targetPort: number,
    readonly targetHost = '127.0.0.1',
  ) {}

  /** Listens on `port` (the harness passes a claimed one; 0 lets the OS choose), on a loopback address. */
  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  private accept(client: net.Socket): void {
    if (this.mode === 'partition') {
      this.observer?.fault('refused', 'a new connection was refused: the link is partitioned');
      client.resetAndDestroy();
      return;
    }
    this.stats.connections++;
    const upstream = net.connect({ port: this.targetPort, host: this.targetHost, allowHalfOpen: true });
    const link: Link = { id: ++this.linkCount, client, upstream, held: { forward: [], backward: [] } };
    this.links.add(link);
    this.observer?.accepted(link.id, client);
    upstream.once('connect', () => this.observer?.connected?.(link.id));
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.pass(link, 'forward', chunk));
    upstream.on('data', (chunk: Buffer) => this.pass(link, 'backward', chunk));
    // A FIN travels on as a FIN, in order behind the data (null stands for it); an error or
    // reset on one side resets the other.
    client.on('end', () => this.pass(link, 'forward', null));
    upstream.on('end', () => this.pass(link, 'backward', null));
    const reset = () => this.drop(link);
    client.on('error', reset);
    upstream.on('error', reset);
    // Once both directions have ended, the link is done.
    const finish = () => {
      if (client.writableEnded && upstream.writableEnded) {
        client.destroy();
        upstream.destroy();
        this.links.delete(link);
      }
    };
    client.on('finish', finish);
    upstream.on('finish', finish);
    client.on('close', () => {
      if (upstream.destroyed) this.links.delete(link);
    });
    upstream.on('close', () => {
      if (client.destroyed) this.links.delete(link);
    });
  }

  private pass(link: Link, direction: Direction, chunk: Buffer | null): void {
    if (chunk) this.observer?.arrived(link.id, direction, chunk);
    if (!this.faulty.has(direction)) {
      this.forward(link, direction, chunk);
      return;
    }
    if (this.mode === 'blackhole' || this.mode === 'partition') {
      this.stats.droppedBytes += chunk?.length ?? 0;
      if (chunk) this.observer?.dropped(link.id, direction, chunk, this.mode);
      return;
    }
    if (this.mode === 'hold') {
      link.held[direction].push(chunk);
      return;
    }
    this.forward(link, direction, chunk);
  }

  /** Passes a chunk on, behind the delay if there is one. */
  private forward(link: Link, direction: Direction, chunk: Buffer | null): void {
    if (this.delayMs > 0) {
      const timer = setTimeout(() => {
        this.pendingTimers.delete(timer);
        this.deliver(link, direction, chunk);
      }, this.delayMs);
      this.pendingTimers.add(timer);
      return;
    }
    this.deliver(link, direction, chunk);
  }

  private deliver(link: Link, direction: Direction, chunk: Buffer | null): void {
    const to = direction === 'forward' ? link.upstream : link.client;
    if (to.destroyed || to.writableEnded) {
      if (chunk) this.observer?.dropped(link.id, direction, chunk, 'the connection was closed before it could be delivered');
      return;
    }
    if (chunk === null) {
      to.end();
      return;
    }
    if (direction === 'forward') this.stats.forwardBytes += chunk.length;
    else this.stats.backwardBytes += chunk.length;
    this.tap?.(direction, chunk);
    this.observer?.delivered(link.id, direction, chunk);
    to.write(chunk);
  }

  private drop(link: Link): void {
    for (const direction of ['forward', 'backward'] as const) {
      for (const chunk of link.held[direction]) if (chunk) this.observer?.dropped(link.id, direction, chunk, 'the connection was reset while it was held');
      link.held[direction] = [];
    }
    link.client.resetAndDestroy();
    link.upstream.resetAndDestroy();
    this.links.delete(link);
  }

  /** Every chunk waits `ms` before it is passed on (order is kept). 0 removes the delay. */
  delay(ms: number): void {
    this.delayMs = ms;
    this.observer?.fault('delay', ms > 0 ? `every chunk now waits ${ms} ms` : 'no more delay');
  }

  /**
   * Chunks are held, not lost, until heal(): a partition that TCP would ride out by retransmitting.
   * With a direction, only that way is held (a one-way fault); the other flows.
   */
  hold(direction?: Direction): void {
    this.mode = 'hold';
    this.faulty = new Set(direction ? [direction] : ['forward', 'backward']);
    this.observer?.fault('hold', `chunks${direction ? ` going ${direction}` : ''} are held, not delivered, until the link heals`);
  }

  /**
   * Chunks are silently discarded (in both directions, or only in `direction`); connections
   * stay open and look healthy. Bytes lost in the middle of a stream break its framing when the
   * link heals, as a broken middlebox would.
   */
  blackhole(direction?: Direction): void {
    this.mode = 'blackhole';
    this.faulty = new Set(direction ? [direction] : ['forward', 'backward']);
    this.observer?.fault('blackhole', `chunks${direction ? ` going ${direction}` : ''} are silently discarded; the connections stay open`);
  }

  /** Resets every current connection; new connections are still accepted. */
  cut(): void {
    this.observer?.fault('cut', `every connection through the proxy is reset (${this.links.size} open)`);
    for (const link of [...this.links]) this.drop(link);
  }

  /** Resets every current connection and refuses new ones until heal(). */
  partition(): void {
    this.mode = 'partition';
    this.faulty = new Set(['forward', 'backward']);
    this.observer?.fault('partition', `every connection is reset (${this.links.size} open) and new ones are refused`);
    for (const link of [...this.links]) this.drop(link);
  }

  /** Back to a healthy link; chunks held by hold() are delivered now, in order. */
  heal(): void {
    this.mode = 'open';
    this.observer?.fault('heal', 'the link delivers again (held chunks first, in order)');
    for (const link of this.links) {
      for (const direction of ['forward', 'backward'] as const) {
        const held = link.held[direction];
        link.held[direction] = [];
        for (const chunk of held) this.deliver(link, direction, chunk);
      }
    }
  }

  get openConnections(): number {
    return this.links.size;
  }

  async close(): Promise<void> {
    for (const timer of this.pendingTimers) clearTimeout(timer);
    this.pendingTimers.clear();
    for (const link of [...this.links]) {
      link.client.destroy();
      link.upstream.destroy();
    }
    this.links.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
