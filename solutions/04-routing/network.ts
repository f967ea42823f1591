// What one server knows of the network (spec section 5): every other machine it has heard of,
// and for each, the first link on the way to it.
//
// The servers form a tree, so between any two machines there is exactly one path. A server
// does not need to know that path: only which of its own links the path starts with. It
// learns that from registrations, which travel outwards from the new machine along the tree:
// the link a registration arrived on is the link that leads back to its source. Forwarding a
// message "towards" a machine means sending it on that first link; the next server repeats the
// same one-step decision with its own table, until the message reaches the destination.
import type { Link } from './link.js';
import { NOT_BEHIND_LINK, SERVER_REGISTRATION, encodeRegistration, encodeStatus, withLastHop } from './messages.js';

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
   * Sends `bytes` on every registered link except `except` (the link the message came in on):
   * to neighbouring servers only, or to servers and clients (section 4.3).
   */
  broadcast(bytes: Buffer, to: 'servers' | 'everyone', except?: Link): void {
    for (const link of this.links) {
      if (link === except) continue;
      if (to === 'servers' && link.peer?.kind !== 'server') continue;
      link.send(bytes);
    }
  }

  /** Sends `bytes` on the first link towards `id`. False if `id` is unknown. */
  sendTowards(id: number, bytes: Buffer): boolean {
    const host = this.hosts.get(id);
    if (!host) return false;
    host.firstLink.send(bytes);
    return true;
  }

  /**
   * True if `id` is a host this server reaches through `link` (section 6.5). Only that link may
   * speak for it: a client's own link speaks for the client alone, and a message from or about a
   * machine further away comes on the first link towards it, or it is not genuine.
   */
  isBehind(id: number, link: Link): boolean {
    return this.hosts.get(id)?.firstLink === link;
  }

  /** Refuses a message that speaks for `id` on a link that does not lead to it (section 6.5). */
  refuseSource(link: Link, id: number): void {
    console.log(`refused a message from ${id} on ${link.name}: ${id} is not behind that link`);
    link.send(encodeStatus(this.id, 0, NOT_BEHIND_LINK, `Source ID ${id} is not behind this link`));
  }

  /** Every host reached through `link`: the ones that become unreachable when it closes. */
  hostsBehind(link: Link): Host[] {
    return [...this.hosts.values()].filter((host) => host.firstLink === link);
  }
}
