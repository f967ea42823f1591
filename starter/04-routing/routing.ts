// Chat and status messages (spec/04-routing.md, sections 5 and 6): the messages that go to one
// machine. Each server sends such a message, unchanged, on the first link towards its
// destination, and never looks further: the next server makes the same decision.
import type { Link } from './link.js';
import type { Chat, Status } from './messages.js';
import type { ChatServer } from './network.js';
import { NotImplemented } from './todo.js';

/**
 * A 0x81 chat arrived on `link`. `bytes` are the message exactly as received.
 *
 * Contract (spec sections 5, 6.2 and 6.5):
 * - If the source is not a client behind `link` (server.isBehind), refuse it
 *   (server.refuseSource) and do nothing else: nobody writes in someone else's name.
 * - If the destination is a client this server knows, send `bytes` unchanged on the first link
 *   towards it (for a client of this server, that is the client's own link); if that first link
 *   is `link` itself, drop the chat instead: never send it back where it came from.
 * - Otherwise (an id nobody has, or not a client) answer on `link`, where the chat came from,
 *   with a status 0x01: source this server, destination the chat's source, text
 *   "Unknown ID <destination>" (the id in decimal).
 */
export function onChat(server: ChatServer, link: Link, message: Chat, bytes: Buffer): void {
  throw new NotImplemented('4.3', 'onChat in routing.ts');
}

/**
 * A 0x01 status arrived on `link`.
 *
 * Contract (spec sections 6.1 and 6.5):
 * - If the source is not behind `link`, drop it (log it), unanswered.
 * - Destination 0 or this server's id: it is for this server; log it.
 * - A destination this server knows: send `bytes` unchanged on the first link towards it,
 *   unless that is `link` itself (then drop it).
 * - Any other destination: drop it (log it). Never answer a status with a status.
 */
export function onStatus(server: ChatServer, link: Link, message: Status, bytes: Buffer): void {
  throw new NotImplemented('4.4', 'onStatus in routing.ts');
}
