// Lab 3: the client (spec/03-protocol.md, section 12).
//
//   client --port N [--host H] [--wire binary|json]
//
// The flags are read for you; the rest is yours. commands.ts turns lines into requests and frames
// into lines; this file does the I/O.
import { parseArgs } from 'node:util';
import { NotImplemented } from './todo.js';
import { wires, type Wire } from './wire.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '7007' },
    host: { type: 'string', default: '127.0.0.1' },
    wire: { type: 'string', default: 'binary' },
  },
});
const wire = wires[values.wire];
if (!wire) {
  console.error(`client: --wire must be binary or json, not ${values.wire}`);
  process.exit(2);
}

/**
 * Connects to host:port and runs the client until it is done.
 *
 * Contract (section 12):
 * - each line of standard input goes through parseCommand: a request is sent at once as a frame
 *   (encodeFrame(type, wire.encode(payload))), a problem is printed on standard error; a request
 *   that cannot be sent (wire.encode throws a RangeError for an int the encoding cannot carry, or
 *   the payload is over maxPayload) gets a line on standard error, and nothing is sent;
 * - each frame from the server (reassembled with a FrameReader) is printed as describe() says, as
 *   soon as it is complete, pushed messages included; a frame that does not decode or cannot be
 *   shown is reported on standard error and skipped; FrameTooLarge: report it and exit 1;
 * - `quit`, `exit` or the end of input: close your side, print the replies (and pushed
 *   messages) that still arrive, and exit 0 once the server closes its, not before: a message
 *   may still be pushed after the last reply;
 * - a server that cannot be reached, closes the connection or resets it: a message on standard
 *   error (naming host and port if it could not connect) and exit status 1;
 * - a prompt "> " only when process.stdin.isTTY.
 *
 * Useful: net.connect(), readline.createInterface({ input: process.stdin }), process.exitCode.
 */
function runClient(host: string, port: number, wire: Wire): void {
  throw new NotImplemented('3.7', 'runClient in client.ts');
}

runClient(values.host, Number(values.port), wire);
