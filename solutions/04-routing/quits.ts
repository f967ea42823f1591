// Machines leaving (spec section 7): a client's quit, a server's quit, and a link that closes.
//
// A quit spreads like a registration, outwards along the tree, and every server forgets the id
// as it passes it on. A server passes on only quits for ids it still knows, so each machine sees
// each quit once.
//
// A link that closes cuts the tree in two. Everything this server reached through that link is
// now out of reach: it forgets each of those ids and tells the rest of its side of the tree, one
// quit per id, exactly as if each had quit. Nobody else could: only the servers at the two ends
// of the link know which ids were behind it. Its neighbour at the other end does the same for
// the other side, so each half forgets the other.
import type { Link } from './link.js';
import { encodeClientQuit, encodeServerQuit, type ClientQuit, type ServerQuit } from './messages.js';
import type { ChatServer } from './network.js';

/** The text of the quits a server sends for machines it lost with a link. */
export const LOST = 'Connection lost';

/** A 0x82 client quit arrived on `link`: from the client itself, or passed on by a server. */
export function onClientQuit(server: ChatServer, link: Link, message: ClientQuit, bytes: Buffer): void {
  const host = server.hosts.get(message.source);
  if (host?.kind !== 'client') return;
  // Only the client itself, or the side of the network it is on, can say it has left.
  if (host.firstLink !== link) return server.refuseSource(link, host.id);
  server.hosts.delete(host.id);
  console.log(`client ${host.id} quit: ${message.text}`);
  server.broadcast(bytes, 'everyone', link);
  // The client's own link is finished; its closing has nothing more to forget.
  if (link.peer?.id === host.id) {
    server.links.delete(link);
    link.close();
  }
}

/** A 0x02 server quit arrived on `link`. */
export function onServerQuit(server: ChatServer, link: Link, message: ServerQuit, bytes: Buffer): void {
  const host = server.hosts.get(message.source);
  if (host?.kind !== 'server') return;
  if (host.firstLink !== link) return server.refuseSource(link, host.id);
  server.hosts.delete(host.id);
  console.log(`server ${host.id} quit: ${message.text}`);
  server.broadcast(bytes, 'servers', link);
  // The neighbour itself is leaving: the link goes with it, and so does all that lies behind it.
  if (link.peer?.id === host.id) {
    onLinkClosed(server, link);
    link.close();
  }
}

/** `link` closed, for whatever reason: forget what lies behind it, and say so. */
export function onLinkClosed(server: ChatServer, link: Link): void {
  if (!server.links.delete(link)) return;
  for (const host of server.hostsBehind(link)) {
    server.hosts.delete(host.id);
    console.log(`lost ${host.kind} ${host.id} with the link to ${link.name}`);
    if (host.kind === 'client') server.broadcast(encodeClientQuit(host.id, LOST), 'everyone');
    else server.broadcast(encodeServerQuit(host.id, LOST), 'servers');
  }
}
