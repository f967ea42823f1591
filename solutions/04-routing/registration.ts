// Registrations (spec section 4): how a machine joins the network, and how everyone learns of it.
//
// A new machine connects to one server and sends its own registration, with last hop 0. That
// server records it, answers with what the newcomer needs to know, and passes the registration
// on to its other neighbours with its own id as the last hop. Each server that receives it does
// the same, so the registration spreads along the tree, once over every link, and stops at the
// leaves: in a tree, "every link except the one it came in on" never leads back to a server that
// has already seen it. The link a registration arrives on is remembered as the first hop
// towards its source: that is the whole routing table (network.ts).
//
// The answer to a newcomer is the whole network it has joined: a new server gets this server's
// own registration and every host this server knows; a new client gets a welcome status and
// every client this server knows (clients have no use for servers).
import type { Link } from './link.js';
import { DUPLICATE_ID, WELCOME, encodeStatus, withLastHop, type Registration } from './messages.js';
import type { ChatServer } from './network.js';

/** A 0x00 server registration arrived on `link`. */
export function onServerRegistration(server: ChatServer, link: Link, message: Registration, bytes: Buffer): void {
  const newcomer = link.peer === undefined;
  if (!record(server, link, message, bytes, 'server')) return;
  // On a link this server opened, the first registration is its parent's answer to its own:
  // the parent already knows this server, and this server (just started) knows nobody else.
  if (newcomer && !link.opened) {
    link.send(server.ownRegistration());
    for (const host of server.hosts.values()) {
      if (host.id !== message.source) link.send(server.registrationOf(host));
    }
  }
  server.broadcast(withLastHop(bytes, server.id), 'servers', link);
}

/** A 0x80 client registration arrived on `link`: from the client itself, or passed on by a server. */
export function onClientRegistration(server: ChatServer, link: Link, message: Registration, bytes: Buffer): void {
  const newcomer = link.peer === undefined;
  if (!record(server, link, message, bytes, 'client')) return;
  if (newcomer) {
    link.send(encodeStatus(server.id, message.source, WELCOME, `Welcome to the Clemson Relay Chat network ${message.name}`));
    for (const host of server.hosts.values()) {
      if (host.kind === 'client' && host.id !== message.source) link.send(server.registrationOf(host));
    }
  }
  server.broadcast(withLastHop(bytes, server.id), 'everyone', link);
}

/**
 * Records the source of a registration, with `link` as the first hop towards it. Returns false
 * if its id is taken: a newcomer is then refused (status 0x02, and the link closed); a
 * registration passed on by a neighbour is dropped, so that it goes no further.
 */
function record(server: ChatServer, link: Link, message: Registration, bytes: Buffer, kind: 'server' | 'client'): boolean {
  const newcomer = link.peer === undefined;
  if (server.isTaken(message.source)) {
    if (!newcomer) {
      console.log(`dropped the registration of ${kind} ${message.source} passed on by ${link.name}: that id is known already`);
      return false;
    }
    // The course's texts: "Someone" for a client, "A machine" for a server (section 6.2).
    const who = kind === 'client' ? 'Someone' : 'A machine';
    console.log(`refused ${kind} ${message.source} on ${link.name}: the id is taken`);
    link.send(encodeStatus(server.id, 0, DUPLICATE_ID, `${who} has already registered with ID ${message.source}`));
    link.close();
    return false;
  }
  server.hosts.set(message.source, { id: message.source, kind, name: message.name, firstLink: link, registration: bytes });
  if (newcomer) {
    link.peer = { id: message.source, kind };
    server.links.add(link);
  }
  console.log(`${kind} ${message.source} "${message.name}" joined, ${newcomer ? 'on a new link' : `through ${link.name}`}`);
  return true;
}
