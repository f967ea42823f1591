// Lab 5: the client (spec/05-persistence.md, section 10), lab 3's client that outlives its server.
//
//   client --port N [--host H]
//
// As in lab 3, two independent flows: each line typed becomes a request, sent at once; each frame
// from the server becomes lines on standard output as soon as it is complete. This starter is lab
// 3's client, binary only, with the requests in flight and the session already tracked for you.
//
// Yours (phase 5.6):
// - connectionLost(): when the connection drops before the user is done, connect again (at
//   least every 500 ms, for up to 30 s; then exit 1). Lines typed meanwhile wait and go out, in
//   order, once connected. A request in flight when the connection dropped is not sent again.
// - On the new connection, if `session` is set, first LOGIN with its name and password, then
//   READ {limit: 100}.
// - unseen() in commands.ts: a message whose id was shown already is not shown again.
import net from 'node:net';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { BadReply, describe, parseCommand, unseen } from './commands.js';
import { decodeValue } from './decode.js';
import { encodeValue } from './encode.js';
import { FrameReader, FrameTooLarge, encodeFrame, type Frame } from './frames.js';
import { Type, type Reply } from './messages.js';
import { NotImplemented } from './todo.js';
import { DecodeError } from './values.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '7007' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
const host = values.host;
const port = Number(values.port);

const socket = net.connect({ host, port });
const reader = new FrameReader();
const interactive = process.stdin.isTTY === true;
let connected = false;
let finished = false;
let input: readline.Interface | undefined;
/** Requests sent on this connection whose replies have not come, oldest first. */
const inFlight: Reply[] = [];
/** The account to log in to again after a reconnection: the last LOGIN that succeeded. */
let session: { name: string; password: string } | undefined;
/** Ids of messages printed so far. */
const seen = new Set<bigint>();

function stop(code: number, message?: string): void {
  if (message) console.error(`client: ${message}`);
  process.exitCode = code;
  input?.close();
  process.stdin.destroy();
  socket.destroy();
}

function finish(): void {
  if (finished) return;
  finished = true;
  socket.end();
}

function send(request: Reply): void {
  inFlight.push(request);
  socket.write(encodeFrame(request.type, encodeValue(request.payload)));
}

/** Follows the session: which LOGIN succeeded, and when it ended. Replies come in request order. */
function track(reply: bigint): void {
  const request = inFlight.shift();
  if (!request) return;
  if (request.type === Type.LOGIN && reply === Type.LOGGED_IN) {
    session = { name: request.payload.get('name') as string, password: request.payload.get('password') as string };
  } else if ((request.type === Type.LOGOUT && reply === Type.LOGGED_OUT) || (request.type === Type.DELETE_ACCOUNT && reply === Type.ACCOUNT_DELETED)) {
    session = undefined;
  }
}

function show(frame: Frame): void {
  if (frame.type !== Type.MESSAGE) track(frame.type);
  try {
    const value = unseen(frame.type, decodeValue(frame.payload), seen);
    if (value !== undefined) for (const line of describe(frame.type, value)) console.log(line);
  } catch (error) {
    if (!(error instanceof DecodeError || error instanceof BadReply)) throw error;
    console.error(`client: skipped a frame of type ${frame.type} from the server: ${error.message}`);
  }
  if (interactive) input?.prompt(true);
}

/** The connection dropped before the user was done: connect again (see the top of this file). */
function connectionLost(): void {
  throw new NotImplemented('5.6', 'connectionLost in client.ts');
}

socket.on('connect', () => {
  connected = true;
  input = readline.createInterface({ input: process.stdin, output: interactive ? process.stdout : undefined, prompt: '> ' });
  if (interactive) input.prompt();
  input.on('line', (line) => {
    if (finished) return;
    const command = parseCommand(line);
    if (command && 'quit' in command) finish();
    else if (command && 'problem' in command) console.error(command.problem);
    else if (command) send(command.request);
    if (interactive && !finished) input?.prompt();
  });
  input.on('close', finish);
});

socket.on('data', (chunk: Buffer) => {
  reader.push(chunk);
  try {
    for (let frame = reader.next(); frame; frame = reader.next()) show(frame);
  } catch (error) {
    if (!(error instanceof FrameTooLarge)) throw error;
    stop(1, `the server sent ${error.message}`);
  }
});

socket.on('close', () => {
  if (!connected || process.exitCode !== undefined) return;
  if (finished) stop(0);
  else connectionLost();
});

socket.on('error', (error: NodeJS.ErrnoException) => {
  if (!connected) stop(1, `cannot connect to ${host}:${port}: ${error.code === 'ECONNREFUSED' ? 'connection refused' : error.message}`);
});
