// What one server knows of the network (spec/04-routing.md, section 5): every other machine it
// has heard of, and for each, the first link on the way to it.
//
// The servers form a tree, so between any two machines there is exactly one path. A server
// does not need to know that path: only which of its own links the path starts with. It learns
// that from registrations: the link a registration arrived on is the link that leads back to
// its source. Sending a message "towards" a machine means sending it on that first link; the
// next server repeats the same one-step decision with its own table.
//
// The table and the registrations are done for you. Yours: broadcast, sendTowards, hostsBehind,
// isBehind.
import type { Link } from './link.js';
import { NOT_BEHIND_LINK, SERVER_REGISTRATION, encodeRegistration, encodeStatus, withLastHop } from './messages.js';
import { NotImplemented } from './todo.js';

export interface Host {
  id: number;
  kind: 'server' | 'client';
  name: string;
  /** The link this host's registration arrived on: the first hop towards it. */
  firstLink: Link;
  /** Its registration as it arrived: passed on byte for byte, with a new last hop. */
  registration: Buffer;
}

export class ChatServer {
  /** Every other machine this server knows, by id. */
  readonly hosts = new Map<number, Host>();
  /** Registered links: to neighbouring servers and to this server's own clients. */
  readonly links = new Set<Link>();

  constructor(
    readonly id: number,
    readonly name: string,
    readonly info: string,
  ) {}

  /** True if `id` is taken: by this server or by a machine it knows. */
  isTaken(id: number): boolean {
    return id === this.id || this.hosts.has(id);
  }

  /** This server's own registration, with last hop 0: "I am the machine at this end of the link". */
  ownRegistration(): Buffer {
    return encodeRegistration(SERVER_REGISTRATION, this.id, 0, this.name, this.info);
  }

  /** The registration of a known host, as this server passes it on (last hop: this server). */
  registrationOf(host: Host): Buffer {
    return withLastHop(host.registration, this.id);
  }

  /**
   * Sends `bytes` on every registered link except `except`, the link the message came in on.
   *
   * Contract (spec section 4.3):
   * - `to` 'servers': only links whose peer is a server (server registrations and server quits);
   *   'everyone': servers and clients (client registrations and client quits);
   * - never on `except`: in a tree, that is what makes a broadcast reach every machine exactly
   *   once and then stop;
   * - the bytes are sent as they are; a registration's last hop is set by the caller.
   *
   * Useful: this.links, link.peer?.kind, link.send().
   */
  broadcast(bytes: Buffer, to: 'servers' | 'everyone', except?: Link): void {
    throw new NotImplemented('4.1', 'ChatServer.broadcast in network.ts');
  }

  /**
   * Sends `bytes` on the first link towards the machine `id` (section 5): its own link if it is a
   * neighbour, otherwise the link its registration came in on. Returns false, sending nothing,
   * if `id` is unknown.
   */
  sendTowards(id: number, bytes: Buffer): boolean {
    throw new NotImplemented('4.3', 'ChatServer.sendTowards in network.ts');
  }

  /**
   * True if `id` is a host this server reaches through `link`: its first link is `link`.
   *
   * Contract (spec section 6.5): only that link may speak for `id`. A client's own link speaks
   * for the client alone; a link to a neighbouring server speaks for the machines whose
   * registrations came in on it. False for an id this server does not know.
   */
  isBehind(id: number, link: Link): boolean {
    throw new NotImplemented('4.7', 'ChatServer.isBehind in network.ts');
  }

  /** Refuses a message that speaks for `id` on a link that does not lead to it (section 6.5). */
  refuseSource(link: Link, id: number): void {
    console.log(`refused a message from ${id} on ${link.name}: ${id} is not behind that link`);
    link.send(encodeStatus(this.id, 0, NOT_BEHIND_LINK, `Source ID ${id} is not behind this link`));
  }

  /**
   * Every host whose first link is `link`: the ones that become unreachable when it closes
   * (section 7.3). The neighbour at the other end is one of them.
   */
  hostsBehind(link: Link): Host[] {
    throw new NotImplemented('4.5', 'ChatServer.hostsBehind in network.ts');
  }
}
