// Lab 4: the relay-chat client (spec/04-routing.md, section 8), given complete in the starter.
//
//   client --id N --serverhost H --serverport P --username NAME --info TEXT
//
// It joins the network through one server with a client registration, then does two things at
// once: it turns each command typed on standard input into a message, and prints each message
// that arrives as one line on standard output.
//
//   typed                       sent
//   MESSAGE 105 "hello there"   0x81 chat from this client to client 105
//   QUIT "bye"                  0x82 client quit; then the client closes and exits 0
//   (end of input)              the same as QUIT ""
//
//   received                    printed
//   0x01 status                 STATUS <source> 0x<code> "<text>"
//   0x80 client registration    CLIENT <id> "<name>" "<info>"
//   0x81 chat                   MESSAGE <source> "<text>"
//   0x82 client quit            QUIT <source> "<text>"
//   0x00, 0x02 (never sent to   SERVER <id> "<name>" "<info>", SERVER-QUIT <id> "<text>"
//     a client, but printed)
//
// Texts are printed as JSON strings, so a quote or a newline inside one cannot break the line.
// A typed text may be a JSON string too, or just the rest of the line.
import net from 'node:net';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import {
  CLIENT_CHAT,
  CLIENT_QUIT,
  CLIENT_REGISTRATION,
  Reader,
  SERVER_QUIT,
  SERVER_REGISTRATION,
  STATUS,
  encodeChat,
  encodeClientQuit,
  encodeRegistration,
  type Message,
} from './messages.js';

function usage(problem: string): never {
  console.error(`client: ${problem}\nusage: client --id N --serverhost H --serverport P --username NAME --info TEXT`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      id: { type: 'string' },
      serverhost: { type: 'string', default: '127.0.0.1' },
      serverport: { type: 'string', default: '7007' },
      username: { type: 'string' },
      info: { type: 'string', default: '' },
    },
  }));
} catch (error) {
  usage((error as Error).message);
}
const id = Number(values.id);
if (!Number.isInteger(id) || id < 1 || id > 0xffffffff) usage(`--id must be a whole number from 1 to 4294967295, got ${values.id}`);
if (!values.username || Buffer.byteLength(values.username) > 255) usage('--username must be 1 to 255 bytes');
if (Buffer.byteLength(values.info) > 0xffff) usage('--info must be at most 65535 bytes');
const host = values.serverhost;
const port = Number(values.serverport);
if (!Number.isInteger(port) || port < 1 || port > 65535) usage(`--serverport must be a port from 1 to 65535, got ${values.serverport}`);

const socket = net.connect({ host, port });
const reader = new Reader();
let input: readline.Interface | undefined;
let connected = false;
let quitting = false;
let failure: string | undefined;
let stopped = false;

/** Ends the program once the connection is gone: 0 after a quit, 1 otherwise. */
function stop(code: number, message?: string): void {
  if (stopped) return;
  stopped = true;
  if (message) console.error(`client: ${message}`);
  process.exitCode = code;
  input?.close();
  process.stdin.destroy();
  socket.destroy();
}

/** One line of output for each message received (section 8.2). */
function show(message: Message): string {
  const q = (text: string) => JSON.stringify(text);
  switch (message.type) {
    case STATUS:
      return `STATUS ${message.source} 0x${message.code.toString(16).padStart(2, '0')} ${q(message.text)}`;
    case CLIENT_REGISTRATION:
      return `CLIENT ${message.source} ${q(message.name)} ${q(message.info)}`;
    case SERVER_REGISTRATION:
      return `SERVER ${message.source} ${q(message.name)} ${q(message.info)}`;
    case CLIENT_CHAT:
      return `MESSAGE ${message.source} ${q(message.text)}`;
    case CLIENT_QUIT:
      return `QUIT ${message.source} ${q(message.text)}`;
    case SERVER_QUIT:
      return `SERVER-QUIT ${message.source} ${q(message.text)}`;
  }
}

/** The text of a command: a JSON string ("...") or, unquoted, the rest of the line as typed. */
function textOf(rest: string): string {
  const trimmed = rest.trim();
  if (!trimmed.startsWith('"')) return trimmed;
  const text: unknown = JSON.parse(trimmed);
  if (typeof text !== 'string') throw new SyntaxError('not a string');
  return text;
}

function quit(text: string): void {
  if (quitting) return;
  quitting = true;
  socket.write(encodeClientQuit(id, text));
  // Our side is done; the server closes its side once it has read the quit.
  socket.end();
}

function command(line: string): void {
  const message = /^\s*MESSAGE\s+(\d+)\s+(.*)$/.exec(line);
  const quitCommand = /^\s*QUIT\b(.*)$/.exec(line);
  try {
    if (message) {
      const destination = Number(message[1]);
      if (destination > 0xffffffff) throw new RangeError(`${message[1]} is not an id`);
      socket.write(encodeChat(id, destination, textOf(message[2]!)));
    } else if (quitCommand) {
      quit(textOf(quitCommand[1]!));
    } else if (line.trim() !== '') {
      console.error(`client: unknown command ${JSON.stringify(line)}; use MESSAGE <id> "text" or QUIT "text"`);
    }
  } catch (error) {
    console.error(`client: cannot read ${JSON.stringify(line)}: ${(error as Error).message}`);
  }
}

socket.on('connect', () => {
  connected = true;
  socket.write(encodeRegistration(CLIENT_REGISTRATION, id, 0, values.username!, values.info));
  input = readline.createInterface({ input: process.stdin });
  input.on('line', (line) => {
    if (!quitting) command(line);
  });
  input.on('close', () => quit(''));
});

socket.on('data', (chunk: Buffer) => {
  reader.push(chunk);
  for (let read = reader.next(); read; read = reader.next()) {
    if ('error' in read) return stop(1, `the server sent something unreadable: ${read.error}`);
    console.log(show(read.message));
  }
});

socket.on('error', (error: NodeJS.ErrnoException) => {
  const reason = error.code === 'ECONNREFUSED' ? 'connection refused' : error.message;
  failure = connected ? `lost the connection to ${host}:${port}: ${reason}` : `cannot connect to ${host}:${port}: ${reason}`;
});

socket.on('close', () => {
  if (quitting && !failure) stop(0);
  else stop(1, failure ?? `the server at ${host}:${port} closed the connection`);
});
