// Lab 6 reference solution: the client (spec/06-replication.md, section 8), lab 5's client that
// follows the primary from replica to replica.
//
//   client --replicas ID=HOST:PORT,ID=HOST:PORT,...
//
// As in lab 5, each line typed becomes a request, sent at once, and each frame from the replica
// becomes lines on standard output; the client logs in again after a reconnection and shows each
// message once. New here:
//
// - It holds the list of replicas. A backup answers `not-primary`, naming the primary: the
//   client goes there and sends again everything that was in flight (a backup applied none of it).
// - When the connection dies it tries the next replica of the list, round the list, for 30 s.
// - Every SEND carries (client, seq): a number drawn at random once, and a count. A SEND in flight
//   when the connection died is sent again, unchanged, on the next one: the replicas apply each
//   (client, seq) once, so a message is never made twice, and its one `sent message ID` line comes
//   from whichever replica answered.
import { randomInt } from 'node:crypto';
import net from 'node:net';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { BadReply, describe, parseCommand, unseen } from './commands.js';
import { decodeValue } from './decode.js';
import { encodeValue } from './encode.js';
import { FrameReader, FrameTooLarge, encodeFrame, type Frame } from './frames.js';
import { Type, type Reply } from './messages.js';
import { DecodeError, valueMap } from './values.js';

const { values } = parseArgs({ options: { replicas: { type: 'string' } } });
const replicas = (values.replicas ?? '').split(',').filter(Boolean).map((item) => {
  const match = /^(\d+)=(.+):(\d+)$/.exec(item);
  if (!match) {
    console.error(`client: --replicas wants ID=HOST:PORT entries, not ${item}`);
    process.exit(2);
  }
  return { id: Number(match[1]), host: match[2]!.replace(/^\[(.*)\]$/, '$1'), port: Number(match[3]) };
});
if (replicas.length === 0) {
  console.error('client: --replicas ID=HOST:PORT,... is required');
  process.exit(2);
}
const retryMs = 200;
const giveUpMs = 30_000;
const maxUnacknowledged = 64;
/** This client's number for (client, seq): drawn once, from 1 to 2^53 − 1 (randomInt draws below 2^48). */
const clientNumber = BigInt(randomInt(1, 2 ** 48)) * 32n + BigInt(randomInt(0, 32));

interface Request extends Reply {
  /** The LOGIN and READ the client sends itself after a reconnection. */
  again?: boolean;
}

const interactive = process.stdin.isTTY === true;
let socket: net.Socket | undefined;
let at = 0;
let connected = false;
let everConnected = false;
let finished = false;
let input: readline.Interface | undefined;
/** Requests sent on this connection whose replies have not come, oldest first. */
let inFlight: Request[] = [];
/** Requests waiting to go out: typed while disconnected, sent again, or over the SEND window. */
const queued: Request[] = [];
/** The account to log in to again after a reconnection. */
let session: { name: string; password: string } | undefined;
const shown = new Set<bigint>();
let nextSeq = 1n;
let droppedAt = Date.now();
/** Replicas tried before the first connection: each once, then the client gives up. */
let startAttempts = 0;

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

/** Sends what is queued, in order, while the connection is up and the SEND window has room. */
function pump(): void {
  while (connected && queued.length > 0) {
    const sends = inFlight.filter((r) => r.type === Type.SEND).length;
    if (queued[0]!.type === Type.SEND && sends >= maxUnacknowledged) return;
    const request = queued.shift()!;
    inFlight.push(request);
    socket!.write(encodeFrame(request.type, encodeValue(request.payload)));
  }
}

function submit(request: Request): void {
  if (request.type === Type.SEND) request.payload = new Map([...request.payload, ['client', clientNumber], ['seq', nextSeq++]]);
  queued.push(request);
  pump();
}

/** Follows the session: which LOGIN succeeded, and when it ended. */
function track(reply: bigint): void {
  const request = inFlight.shift();
  if (!request) return;
  // A reply frees a place in the SEND window: what waited behind a full one may go now.
  if (request.type === Type.SEND) pump();
  if (request.type === Type.LOGIN && reply === Type.LOGGED_IN) {
    session = { name: request.payload.get('name') as string, password: request.payload.get('password') as string };
  } else if ((request.type === Type.LOGOUT && reply === Type.LOGGED_OUT) || (request.type === Type.DELETE_ACCOUNT && reply === Type.ACCOUNT_DELETED)) {
    session = undefined;
  }
}

/** The id of the primary a not-primary error names (0 if none), or undefined for any other frame. */
function notPrimary(frame: Frame): number | undefined {
  if (frame.type !== Type.ERROR) return undefined;
  try {
    const value = decodeValue(frame.payload);
    if (!(value instanceof Map) || value.get('code') !== 'not-primary') return undefined;
    const primary = value.get('primary');
    return typeof primary === 'bigint' ? Number(primary) : 0;
  } catch {
    return undefined;
  }
}

function show(frame: Frame): void {
  if (frame.type !== Type.MESSAGE) track(frame.type);
  try {
    const value = unseen(frame.type, decodeValue(frame.payload), shown);
    if (value !== undefined) for (const line of describe(frame.type, value)) console.log(line);
  } catch (error) {
    if (!(error instanceof DecodeError || error instanceof BadReply)) throw error;
    console.error(`client: skipped a frame of type ${frame.type} from the replica: ${error.message}`);
  }
  if (interactive) input?.prompt(true);
}

/** A backup answered: nothing in flight was applied; all of it goes to the primary it names. */
function redirect(primary: number): void {
  const target = replicas.findIndex((r) => r.id === primary);
  console.error(`client: replica ${replicas[at]!.id} is not the primary${target >= 0 ? `; trying replica ${primary}` : ''}`);
  // The LOGIN and READ of a reconnection are made again on the next connection.
  queued.unshift(...inFlight.filter((r) => !r.again));
  inFlight = [];
  leave();
  if (target >= 0) {
    at = target;
    connect();
  } else {
    at = (at + 1) % replicas.length;
    setTimeout(connect, retryMs);
  }
}

/** Drops the current connection without the reconnection a dead one gets. */
function leave(): void {
  const old = socket;
  socket = undefined;
  connected = false;
  old?.removeAllListeners();
  old?.on('error', () => undefined);
  old?.destroy();
}

function startInput(): void {
  input = readline.createInterface({ input: process.stdin, output: interactive ? process.stdout : undefined, prompt: '> ' });
  if (interactive) input.prompt();
  input.on('line', (line) => {
    if (finished) return;
    const command = parseCommand(line);
    if (command && 'quit' in command) finish();
    else if (command && 'problem' in command) console.error(command.problem);
    else if (command) submit(command.request);
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
  if (process.exitCode !== undefined) return;
  const { host, port, id } = replicas[at]!;
  const attempt = net.connect({ host, port });
  const reader = new FrameReader();
  socket = attempt;
  attempt.on('connect', () => {
    connected = true;
    inFlight = [];
    if (!everConnected) startInput();
    else console.error(`client: connected to replica ${id} at ${host}:${port}`);
    everConnected = true;
    // Log in again and show what waits, before anything sent again or typed while we were away.
    if (session) {
      queued.unshift(
        { type: Type.LOGIN, payload: valueMap({ name: session.name, password: session.password }), again: true },
        { type: Type.READ, payload: valueMap({ limit: 100n }), again: true },
      );
    }
    pump();
  });
  attempt.on('data', (chunk: Buffer) => {
    reader.push(chunk);
    try {
      for (let frame = reader.next(); frame && socket === attempt; frame = reader.next()) {
        const primary = notPrimary(frame);
        if (primary !== undefined) redirect(primary);
        else show(frame);
      }
    } catch (error) {
      if (!(error instanceof FrameTooLarge)) throw error;
      exit(1, `the replica sent ${error.message}`);
    }
  });
  attempt.on('error', () => undefined);
  attempt.on('close', () => {
    if (socket !== attempt || process.exitCode !== undefined) return;
    if (finished) return exit(0);
    if (!everConnected && ++startAttempts >= replicas.length) {
      return exit(1, `cannot connect to any replica: ${replicas.map((r) => `${r.host}:${r.port}`).join(', ')}`);
    }
    connectionLost();
  });
}

/**
 * The connection closed, was reset or refused before the user was done: try the next replica of
 * the list, round the list. A SEND in flight carries (client, seq), so it is sent again on the
 * next connection, unchanged; nothing else in flight is (lab 5, rule 3).
 */
function connectionLost(): void {
  if (connected) {
    connected = false;
    droppedAt = Date.now();
    const again = inFlight.filter((r) => r.type === Type.SEND);
    const lost = inFlight.filter((r) => r.type !== Type.SEND && !r.again).length;
    if (lost > 0) console.error(`client: ${lost} request(s) got no reply; they are not sent again`);
    queued.unshift(...again);
    inFlight = [];
    console.error(`client: lost the connection to replica ${replicas[at]!.id}; trying the next one`);
  }
  if (Date.now() - droppedAt > giveUpMs) return exit(1, `could not reach a primary for ${giveUpMs / 1000} s`);
  at = (at + 1) % replicas.length;
  setTimeout(connect, retryMs);
}

connect();
