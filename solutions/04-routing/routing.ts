// Chat and status messages (spec sections 5 and 6): the messages that go to one machine.
//
// Each server looks up the destination in its table and sends the message, unchanged, on the
// first link towards it. It never looks further: the next server makes the same decision with
// its own table. Along the tree's one path, the message reaches its destination exactly once and
// no other machine sees it.
//
// A message is taken only from the link that leads to its source (section 6.5): a client cannot
// write in another's name, and a server cannot pass on what did not come from its side.
import type { Link } from './link.js';
import { UNKNOWN_ID, encodeStatus, type Chat, type Status } from './messages.js';
import type { ChatServer } from './network.js';

/** A 0x81 chat arrived on `link`. */
export function onChat(server: ChatServer, link: Link, message: Chat, bytes: Buffer): void {
  if (server.hosts.get(message.source)?.kind !== 'client' || !server.isBehind(message.source, link)) {
    return server.refuseSource(link, message.source);
  }
  const destination = server.hosts.get(message.destination);
  if (destination?.kind === 'client') {
    // Never back where it came from: the neighbour that sent it was nearer the destination.
    if (destination.firstLink === link) return console.log(`dropped a chat for ${destination.id}: it came from that side`);
    destination.firstLink.send(bytes);
    return;
  }
  // The chat came from the direction of its source, so that is where the answer goes back.
  console.log(`chat from ${message.source} to unknown id ${message.destination}`);
  link.send(encodeStatus(server.id, message.source, UNKNOWN_ID, `Unknown ID ${message.destination}`));
}

/** A 0x01 status arrived on `link`. */
export function onStatus(server: ChatServer, link: Link, message: Status, bytes: Buffer): void {
  // Never answered, not even when it is not genuine: two servers could answer each other for ever.
  if (!server.isBehind(message.source, link)) return console.log(`dropped a status from ${message.source} on ${link.name}: not behind that link`);
  // Destination 0 is "the machine at this end of the link": that is this server.
  if (message.destination === 0 || message.destination === server.id) {
    console.log(`status 0x${message.code.toString(16).padStart(2, '0')} from ${message.source} on ${link.name}: ${message.text}`);
    return;
  }
  // A status about a status would never end; one for an unknown machine is dropped, and so is one
  // that would go back where it came from.
  if (server.hosts.get(message.destination)?.firstLink === link) return console.log(`dropped a status for ${message.destination}: it came from that side`);
  if (!server.sendTowards(message.destination, bytes)) console.log(`dropped a status for unknown id ${message.destination}`);
}
