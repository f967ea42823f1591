// Machines leaving (spec/04-routing.md, section 7): a client's quit, a server's quit, and a link
// that closes. A quit spreads like a registration, outwards along the tree, and every server
// forgets the id as it passes it on.
import type { Link } from './link.js';
import type { ClientQuit, ServerQuit } from './messages.js';
import type { ChatServer } from './network.js';
import { NotImplemented } from './todo.js';

/** The text of the quits a server sends for machines it lost with a link. */
export const LOST = 'Connection lost';

/**
 * A 0x82 client quit arrived on `link`: from the client itself, or passed on by a server.
 *
 * Contract (spec section 7.1):
 * - If the source is not a client this server knows, do nothing: that is what makes each
 *   machine see each quit once.
 * - If `link` is not the client's first link, the quit is in someone else's name: refuse it
 *   (server.refuseSource) and forget nothing (spec section 6.5).
 * - Otherwise forget it (server.hosts) and pass `bytes` on, unchanged, to every other server
 *   and client (never back on `link`).
 * - If the quitting client is the peer of `link` (its own quit), that link is finished: remove
 *   it from server.links and close it.
 */
export function onClientQuit(server: ChatServer, link: Link, message: ClientQuit, bytes: Buffer): void {
  throw new NotImplemented('4.5', 'onClientQuit in quits.ts');
}

/**
 * A 0x02 server quit arrived on `link`.
 *
 * Contract (spec section 7.2):
 * - If the source is not a server this server knows, do nothing.
 * - If `link` is not that server's first link, refuse it (server.refuseSource), as for clients.
 * - Otherwise forget it and pass `bytes` on, unchanged, to every other server (never to clients).
 * - If the quitting server is the peer of `link` (the neighbour itself is leaving), everything
 *   behind that link goes with it: handle the link as closed (onLinkClosed), and close it.
 */
export function onServerQuit(server: ChatServer, link: Link, message: ServerQuit, bytes: Buffer): void {
  throw new NotImplemented('4.6', 'onServerQuit in quits.ts');
}

/**
 * `link` closed, for whatever reason (the peer closed it, reset it, or this server closed it
 * after a protocol error). server.ts calls this for every registered link that closes.
 *
 * Contract (spec section 7.3):
 * - If the link is not in server.links (never registered, or already dealt with), do nothing.
 * - Otherwise remove it from server.links, and for every host reached through it
 *   (server.hostsBehind): forget the host, and tell the rest of the network, as if it had quit
 *   itself: a client quit (0x82, source the host's id, text LOST) to every server and client,
 *   or a server quit (0x02, likewise, replacement 0) to every server.
 *
 * Useful: encodeClientQuit() and encodeServerQuit() in messages.ts, server.broadcast().
 */
export function onLinkClosed(server: ChatServer, link: Link): void {
  throw new NotImplemented('4.5', 'onLinkClosed in quits.ts');
}
