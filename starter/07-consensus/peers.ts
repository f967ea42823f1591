// The replica's outgoing connections, one to each other replica (spec/06-replication.md, section
// 6). A replica sends to replica j only on the connection it opened to j, and reads nothing from
// it: j answers on its own connection. So each direction of each pair is one TCP connection, which
// a proxy between them (the grader's) can delay or cut on its own.
//
// A connection that closes, or cannot be made, is tried again H ms later. A message for a replica
// whose connection is not open is dropped: heartbeats come again, and what matters (APPENDs,
// tokens) is sent again by the code that sends it.
import net from 'node:net';
import { encodeValue } from './encode.js';
import { encodeFrame } from './frames.js';
import type { ValueMap } from './values.js';

export interface Address {
  host: string;
  port: number;
}

/** A connection whose unsent bytes pass this is stuck (a peer that stopped reading): start again. */
const maxUnsent = 4 * 1024 * 1024;

export class Peers {
  private readonly sockets = new Map<number, net.Socket>();
  private readonly open = new Set<number>();
  private stopped = false;

  constructor(
    readonly addresses: Map<number, Address>,
    private readonly retryMs: number,
    /** Called each time a connection to a replica opens. */
    private readonly opened: (id: number) => void,
  ) {}

  start(): void {
    for (const id of this.addresses.keys()) this.connect(id);
  }

  isOpen(id: number): boolean {
    return this.open.has(id);
  }

  /** Sends one message to replica `id`, if its connection is open. */
  send(id: number, type: bigint, payload: ValueMap): void {
    const socket = this.sockets.get(id);
    if (!socket || !this.open.has(id)) return;
    if (socket.writableLength > maxUnsent) {
      socket.destroy();
      return;
    }
    socket.write(encodeFrame(type, encodeValue(payload)));
  }

  /** Sends one message to every other replica. */
  broadcast(type: bigint, payload: ValueMap): void {
    for (const id of this.addresses.keys()) this.send(id, type, payload);
  }

  stop(): void {
    this.stopped = true;
    for (const socket of this.sockets.values()) socket.destroy();
  }

  private connect(id: number): void {
    if (this.stopped) return;
    const { host, port } = this.addresses.get(id)!;
    const socket = net.connect({ host, port });
    this.sockets.set(id, socket);
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.open.add(id);
      this.opened(id);
    });
    // Nothing is read on this connection; whatever comes is thrown away.
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.open.delete(id);
      setTimeout(() => this.connect(id), this.retryMs).unref();
    });
  }
}
