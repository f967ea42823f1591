// Lab 4 reference solution: a relay-chat server (spec/04-routing.md).
//
//   server --id N --servername NAME --port P --info TEXT [--connect_to_host H --connect_to_port Q]
//
// Many of these servers joined in a tree make one chat network. Each server listens for
// neighbours and clients; all but the first also connect, at start-up, to one server already in
// the network (their parent). Because each server joins through exactly one link, the servers
// always form a tree: there is one path between any two machines, and a message sent out on
// every link but the one it came in on reaches every machine once and stops.
//
// This file reads the flags, listens, joins the network, and turns each connection's bytes into
// messages for the handlers: registration.ts (joining), routing.ts (chat and status), quits.ts
// (leaving). network.ts holds what the server knows; messages.ts is the wire format.
import net from 'node:net';
import { parseArgs } from 'node:util';
import { Link } from './link.js';
import {
  CLIENT_CHAT,
  CLIENT_QUIT,
  CLIENT_REGISTRATION,
  DUPLICATE_ID,
  PROTOCOL_ERROR,
  SERVER_QUIT,
  SERVER_REGISTRATION,
  STATUS,
  encodeServerQuit,
  encodeStatus,
  type Message,
} from './messages.js';
import { ChatServer } from './network.js';
import { onClientQuit, onLinkClosed, onServerQuit } from './quits.js';
import { onClientRegistration, onServerRegistration } from './registration.js';
import { onChat, onStatus } from './routing.js';

function dispatch(server: ChatServer, link: Link, message: Message, bytes: Buffer): void {
  const registering = message.type === SERVER_REGISTRATION || message.type === CLIENT_REGISTRATION;
  if (link.opened && !link.peer) return parentAnswer(server, link, message, bytes);
  // An accepted link must start with a registration (section 4.1).
  if (!link.peer && !registering) return protocolError(server, link, 'Expected a registration');
  if (link.peer?.kind === 'client' && registering) return protocolError(server, link, 'A client registers only once');
  if (registering && message.source === 0) return protocolError(server, link, 'Invalid ID 0');
  switch (message.type) {
    case SERVER_REGISTRATION:
      return onServerRegistration(server, link, message, bytes);
    case CLIENT_REGISTRATION:
      return onClientRegistration(server, link, message, bytes);
    case STATUS:
      return onStatus(server, link, message, bytes);
    case CLIENT_CHAT:
      return onChat(server, link, message, bytes);
    case CLIENT_QUIT:
      return onClientQuit(server, link, message, bytes);
    case SERVER_QUIT:
      return onServerQuit(server, link, message, bytes);
  }
}

/**
 * The first message from the parent (section 4.1): its own registration, with last hop 0 or its
 * own id. A refusal, or anything else, means this server cannot join: it says why and stops.
 */
function parentAnswer(server: ChatServer, link: Link, message: Message, bytes: Buffer): void {
  if (message.type === SERVER_REGISTRATION && (message.lastHop === 0 || message.lastHop === message.source) && message.source !== 0) {
    return onServerRegistration(server, link, message, bytes);
  }
  if (message.type === STATUS && message.code === DUPLICATE_ID) {
    console.error(`server: the network refused this server: ${message.text}`);
    process.exit(1);
  }
  protocolError(server, link, 'Expected a registration');
}

/** Section 6.4: a status 0x03 to the machine at the other end, then the link is closed. */
function protocolError(server: ChatServer, link: Link, text: string): void {
  console.log(`protocol error on ${link.name}: ${text}`);
  link.send(encodeStatus(server.id, 0, PROTOCOL_ERROR, text));
  link.close();
  if (server.links.has(link)) onLinkClosed(server, link);
}

/** Reads messages from one connection, for as long as it lasts. */
function serve(server: ChatServer, link: Link, hooks: { afterMessage?: () => void; onClose?: () => void } = {}): void {
  link.socket.on('data', (chunk: Buffer) => {
    link.reader.push(chunk);
    for (let read = link.reader.next(); read && !link.isClosing; read = link.reader.next()) {
      if ('error' in read) protocolError(server, link, read.error);
      else dispatch(server, link, read.message, read.bytes);
      hooks.afterMessage?.();
    }
  });
  // A reset or a failed write is one link's end, never the server's.
  link.socket.on('error', (error) => console.log(`${link.name}: ${error.message}`));
  link.socket.on('close', () => {
    console.log(`link to ${link.name} closed`);
    // Only a registered link has anything behind it to forget.
    if (server.links.has(link)) onLinkClosed(server, link);
    hooks.onClose?.();
  });
}

function flags() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        id: { type: 'string' },
        servername: { type: 'string' },
        port: { type: 'string', default: '7007' },
        info: { type: 'string', default: '' },
        host: { type: 'string', default: '127.0.0.1' },
        connect_to_host: { type: 'string', default: '127.0.0.1' },
        connect_to_port: { type: 'string' },
      },
    }));
  } catch (error) {
    usage((error as Error).message);
  }
  const id = Number(values.id);
  if (!Number.isInteger(id) || id < 1 || id > 0xffffffff) usage(`--id must be a whole number from 1 to 4294967295, got ${values.id}`);
  if (!values.servername || Buffer.byteLength(values.servername) > 255) usage('--servername must be 1 to 255 bytes');
  if (Buffer.byteLength(values.info) > 0xffff) usage('--info must be at most 65535 bytes');
  const port = (flag: string, value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 65535) usage(`--${flag} must be a port from 1 to 65535, got ${value}`);
    return n;
  };
  const connectTo = values.connect_to_port === undefined ? undefined : port('connect_to_port', values.connect_to_port);
  return { ...values, id, servername: values.servername, port: port('port', values.port), connect_to_port: connectTo };
}

function usage(problem: string): never {
  console.error(`server: ${problem}\nusage: server --id N --servername NAME --port P --info TEXT [--connect_to_host H --connect_to_port Q]`);
  process.exit(2);
}

function main(): void {
  const options = flags();
  const server = new ChatServer(options.id, options.servername, options.info);
  const listen = () => {
    const listener = net.createServer((socket) => serve(server, new Link(socket, false, `${socket.remoteAddress}:${socket.remotePort}`)));
    listener.on('error', (error) => {
      console.error(`server: cannot listen on ${options.host}:${options.port}: ${error.message}`);
      process.exit(1);
    });
    listener.listen(options.port, options.host, () => console.log(`server ${server.id} "${server.name}" listening on ${options.host}:${options.port}`));
  };
  if (options.connect_to_port !== undefined) join(server, options.connect_to_host, options.connect_to_port, listen);
  else listen();
  process.on('SIGINT', () => leave(server));
  process.on('SIGTERM', () => leave(server));
}

/** Told to stop: leave the network with a server quit to each neighbour (section 2.1), then exit. */
function leave(server: ChatServer): void {
  console.log('leaving the network');
  server.broadcast(encodeServerQuit(server.id, 'Shutting down'), 'servers');
  // Exit as soon as every link has handed its last bytes to the system, or after a second.
  let open = server.links.size;
  if (open === 0) process.exit(0);
  for (const link of server.links) link.socket.end(() => --open === 0 && process.exit(0));
  setTimeout(() => process.exit(0), 1_000);
}

/**
 * Connects to the parent and registers. Only once the parent has answered with its own
 * registration does the server listen (section 4.1): a neighbour that arrived earlier could not
 * be announced to a parent whose link is not registered yet. A server that cannot join stops.
 */
function join(server: ChatServer, host: string, port: number, joined: () => void): void {
  const socket = net.connect({ host, port });
  const link = new Link(socket, true, `${host}:${port}`);
  let listening = false;
  socket.once('connect', () => {
    console.log(`connected to ${host}:${port}; registering`);
    link.send(server.ownRegistration());
  });
  serve(server, link, {
    afterMessage: () => {
      if (listening || !link.peer) return;
      listening = true;
      joined();
    },
    onClose: () => {
      if (link.peer) return;
      console.error(`server: could not join the network through ${host}:${port}`);
      process.exit(1);
    },
  });
}

main();
