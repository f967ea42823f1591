// Lab 5 reference solution: the client (spec/05-persistence.md, section 10), lab 3's client that
// outlives its server.
//
//   client --port N [--host H]
//
// As in lab 3, two independent flows: each line typed becomes a request, sent at once; each frame
// from the server becomes lines on standard output as soon as it is complete. New here:
//
// - When the connection drops, the client connects again (every 200 ms, for up to 30 s). Lines
//   typed meanwhile wait in `queued` and go out, in order, once it is back.
// - It remembers the name and password of its last successful LOGIN (it matches replies to its
//   requests, which come back in order), and on a new connection logs in again and READs what
//   waits, before anything queued.
// - A request in flight when the connection dropped is not sent again: the server may or may
//   not have applied it, and sending it twice could apply it twice.
// - Across a crash the server may deliver a message again (spec section 7): a message whose id
//   was shown already is not shown again.
import net from 'node:net';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { BadReply, describe, parseCommand, unseen } from './commands.js';
import { decodeValue } from './decode.js';
import { encodeValue } from './encode.js';
import { FrameReader, FrameTooLarge, encodeFrame, type Frame } from './frames.js';
import { Type, type Reply } from './messages.js';
import { DecodeError, valueMap } from './values.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '7007' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
const host = values.host;
const port = Number(values.port);
const retryMs = 200;
const giveUpMs = 30_000;

const interactive = process.stdin.isTTY === true;
let socket: net.Socket | undefined;
let reader = new FrameReader();
let connected = false;
let everConnected = false;
let finished = false;
let input: readline.Interface | undefined;
/** Requests sent on this connection whose replies have not come, oldest first. */
let inFlight: Reply[] = [];
/** Requests typed while disconnected. */
const queued: Reply[] = [];
/** The account to log in to again after a reconnection. */
let session: { name: string; password: string } | undefined;
/** Ids of messages printed so far. */
const seen = new Set<bigint>();
let droppedAt = 0;

function exit(code: number, message?: string): void {
  if (message) console.error(`client: ${message}`);
  // Closing the input below calls finish(), which must not take it for the user's end of input
  // and turn this exit status into 0.
  finished = true;
  process.exitCode = code;
  input?.close();
  process.stdin.destroy();
  socket?.destroy();
}

function send(request: Reply): void {
  if (!connected) {
    queued.push(request);
    return;
  }
  inFlight.push(request);
  socket!.write(encodeFrame(request.type, encodeValue(request.payload)));
}

/** Follows the session: which LOGIN succeeded, and when it ended. */
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

function startInput(): void {
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
}

function finish(): void {
  if (finished) return;
  finished = true;
  if (connected) socket!.end();
  else exit(0);
}

function connect(): void {
  const attempt = net.connect({ host, port });
  socket = attempt;
  reader = new FrameReader();
  attempt.on('connect', () => {
    connected = true;
    inFlight = [];
    if (!everConnected) startInput();
    else console.error(`client: connected to ${host}:${port} again`);
    everConnected = true;
    // Log in again and show what waits, before anything typed while we were away.
    if (session) {
      send({ type: Type.LOGIN, payload: valueMap({ name: session.name, password: session.password }) });
      send({ type: Type.READ, payload: valueMap({ limit: 100n }) });
    }
    for (const request of queued.splice(0)) send(request);
  });
  attempt.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    try {
      for (let frame = reader.next(); frame; frame = reader.next()) show(frame);
    } catch (error) {
      if (!(error instanceof FrameTooLarge)) throw error;
      exit(1, `the server sent ${error.message}`);
    }
  });
  attempt.on('error', (error: NodeJS.ErrnoException) => {
    if (!everConnected) exit(1, `cannot connect to ${host}:${port}: ${error.code === 'ECONNREFUSED' ? 'connection refused' : error.message}`);
  });
  attempt.on('close', () => {
    if (!everConnected || process.exitCode !== undefined) return;
    if (finished) {
      exit(0);
      return;
    }
    if (connected) {
      connected = false;
      droppedAt = Date.now();
      if (inFlight.length > 0) console.error(`client: ${inFlight.length} request(s) got no reply; they are not sent again`);
      console.error(`client: lost the connection to ${host}:${port}; reconnecting`);
    }
    if (Date.now() - droppedAt > giveUpMs) exit(1, `could not reconnect to ${host}:${port} for ${giveUpMs / 1000} s`);
    else setTimeout(connect, retryMs);
  });
}

connect();
