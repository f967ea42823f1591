// One TCP connection of a server: to a neighbouring server or to a client.
//
// A link starts unregistered: the server does not yet know who is at the other end. The first
// registration that arrives on it (last hop 0, section 4.1) says who that is, and from then on
// `peer` names the neighbour. A link the server opened itself (to its parent, at start-up) is
// marked `opened`: on it, the server registered first, and the answer is the parent's own
// registration, not a newcomer to welcome.
import type net from 'node:net';
import { Reader } from './messages.js';

export interface Peer {
  id: number;
  kind: 'server' | 'client';
}

export class Link {
  peer: Peer | undefined;
  readonly reader = new Reader();
  private closing = false;

  /**
   * `address` is the other end's "host:port", kept from the start: once the socket is gone, it
   * no longer knows its remote address.
   */
  constructor(
    readonly socket: net.Socket,
    readonly opened: boolean,
    readonly address: string,
  ) {}

  /** "server 3", "client 101", or the address while the peer is still unknown. */
  get name(): string {
    return this.peer ? `${this.peer.kind} ${this.peer.id}` : this.address;
  }

  send(bytes: Buffer): void {
    // Writing to a socket that is closing, or that the other end has ended, would only raise an
    // error event: skip it.
    if (!this.closing && this.socket.writable) this.socket.write(bytes);
  }

  /** Closes the link once what is queued for it has been sent. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.socket.end();
    // A peer that never reads, or never closes its side, must not keep the socket forever.
    setTimeout(() => this.socket.destroy(), 2_000).unref();
  }

  get isClosing(): boolean {
    return this.closing;
  }
}
