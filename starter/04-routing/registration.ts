// Registrations (spec/04-routing.md, section 4): how a machine joins the network, and how
// everyone learns of it.
//
// A new machine connects to one server and sends its own registration, with last hop 0. That
// server records it, answers with what the newcomer needs to know, and passes the registration
// on to its other neighbours with its own id as the last hop. Each server that receives it does
// the same, so the registration spreads along the tree and stops at the leaves. The link a
// registration arrives on is remembered as the first hop towards its source: that is the whole
// routing table (network.ts).
import type { Link } from './link.js';
import type { Registration } from './messages.js';
import type { ChatServer } from './network.js';
import { NotImplemented } from './todo.js';

/**
 * A 0x00 server registration arrived on `link`. `bytes` are the message exactly as received.
 *
 * Contract (spec sections 4.1 to 4.3, 6.3):
 * - `link.peer` is undefined if this is the first registration on the link: the message is the
 *   registration of the server at the other end. Otherwise a neighbour is passing on the
 *   registration of a server further away.
 * - If the id is taken (server.isTaken): a first registration is refused with a status 0x02
 *   (source: this server, destination 0, text "A machine has already registered with ID <id>"),
 *   and the link is closed (link.close()); a passed-on one is dropped. Either way, nothing else.
 * - (server.ts has already answered a registration with id 0 with a protocol error.)
 * - Otherwise record the host in server.hosts, with `link` as its first link and `bytes` as its
 *   registration (passed on byte for byte later); for a first registration, also set
 *   link.peer = { id, kind: 'server' } and add the link to server.links.
 * - A first registration on a link this server accepted (not `link.opened`): send the newcomer
 *   this server's own registration (last hop 0), then the registration of every host this
 *   server knows except the newcomer (last hop: this server's id). On a link this server
 *   opened, the first registration is its parent's answer: send nothing back.
 * - Pass the registration on to every other server, with this server's id as the last hop
 *   (withLastHop() in messages.ts).
 */
export function onServerRegistration(server: ChatServer, link: Link, message: Registration, bytes: Buffer): void {
  throw new NotImplemented('4.1', 'onServerRegistration in registration.ts');
}

/**
 * A 0x80 client registration arrived on `link`: from the client itself (the first message on
 * the link), or passed on by a neighbouring server.
 *
 * Contract (spec sections 4.2, 4.3, 6.3):
 * - A taken id is handled as for servers (status 0x02 and close, or drop), but the course's text
 *   for a client is "Someone has already registered with ID <id>" (spec section 6.2).
 * - Otherwise record the host (kind 'client') with `link` as its first link; for the client's
 *   own registration, set link.peer = { id, kind: 'client' } and add the link to server.links.
 * - A new client is sent, in this order: a welcome status (code 0x00, source this server,
 *   destination the client, text "Welcome to the Clemson Relay Chat network <its name>"), then
 *   the registration of every other client this server knows (last hop: this server's id).
 *   Clients are never sent server registrations.
 * - Pass the registration on to every other server and client, with this server's id as the
 *   last hop.
 */
export function onClientRegistration(server: ChatServer, link: Link, message: Registration, bytes: Buffer): void {
  throw new NotImplemented('4.2', 'onClientRegistration in registration.ts');
}
