// Lab 3 reference solution: the client (spec/03-protocol.md, section 12).
//
//   client --port N [--host H] [--wire binary|json]
//
// Two independent flows, as in lab 1's client: each line typed becomes a request frame, sent at
// once; each frame from the server becomes lines on standard output as soon as it is complete,
// whether it is a reply or a message pushed by the server. The client need not match replies to
// requests: every reply type says what it answers.
//
// Ending: `quit`, `exit` or the end of input closes our side, and we exit 0 once the server closes
// its side. A server that cannot be reached or goes away is an error: a message on standard error
// and exit status 1. So is a frame over the maximum (framing is lost); a frame we cannot decode or
// show is reported on standard error and skipped, since its header told us where the next begins.
// A request we cannot send (an int the encoding cannot carry, a frame over the maximum) is
// reported on standard error, and nothing is sent for it.
import net from 'node:net';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { BadReply, describe, parseCommand } from './commands.js';
import { FrameReader, FrameTooLarge, encodeFrame, maxPayload, type Frame } from './frames.js';
import type { Reply } from './messages.js';
import { DecodeError } from './values.js';
import { wires } from './wire.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '7007' },
    host: { type: 'string', default: '127.0.0.1' },
    wire: { type: 'string', default: 'binary' },
  },
});
const host = values.host;
const port = Number(values.port);
const wire = wires[values.wire];
if (!wire) {
  console.error(`client: --wire must be binary or json, not ${values.wire}`);
  process.exit(2);
}

const socket = net.connect({ host, port });
const reader = new FrameReader();
// A prompt only for a person at a terminal; a program feeding us lines wants clean output.
const interactive = process.stdin.isTTY === true;
let connected = false;
let finished = false;
let input: readline.Interface | undefined;

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

/**
 * Sends one request, unless it cannot be sent: an int outside the encoding's range (the encoders
 * throw a RangeError), or a payload over the maximum, which the server would have to close for.
 */
function sendRequest(request: Reply): void {
  let payload: Buffer;
  try {
    payload = wire!.encode(request.payload);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    console.error(`client: not sent: ${error.message}`);
    return;
  }
  if (payload.length > maxPayload) {
    console.error(`client: not sent: the request would be ${payload.length} bytes, over the maximum of ${maxPayload}`);
    return;
  }
  socket.write(encodeFrame(request.type, payload));
}

function show(frame: Frame): void {
  try {
    for (const line of describe(frame.type, wire!.decode(frame.payload))) console.log(line);
  } catch (error) {
    if (!(error instanceof DecodeError || error instanceof BadReply)) throw error;
    console.error(`client: skipped a frame of type ${frame.type} from the server: ${error.message}`);
  }
  if (interactive) input?.prompt(true);
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
    else if (command) sendRequest(command.request);
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

socket.on('end', () => {
  if (finished) stop(0);
  else stop(1, `the server at ${host}:${port} closed the connection`);
});

socket.on('error', (error: NodeJS.ErrnoException) => {
  if (!connected) {
    const reason = error.code === 'ECONNREFUSED' ? 'connection refused' : error.message;
    stop(1, `cannot connect to ${host}:${port}: ${reason}`);
  } else {
    stop(1, `lost the connection to ${host}:${port}: ${error.message}`);
  }
});
