// Lab 2: the chat client. Read spec/02-chat.md, section 10.
//
//   client.ts --port N --name NAME [--host H]
//
// The flags are read for you; the rest is yours.
import { parseArgs } from 'node:util';
import { NotImplemented } from './todo.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '7007' },
    host: { type: 'string', default: '127.0.0.1' },
    name: { type: 'string' },
  },
});

/**
 * Connects to the chat server at host:port as `name` and runs the client until it is done.
 *
 * Contract (spec/02-chat.md, section 10):
 * - once connected, send `name` as the first line, at once;
 * - print every line the server sends on standard output as soon as it is complete, even while
 *   the user is in the middle of typing a line: receiving must not wait for input;
 * - send every line typed on standard input; for a chat line (not empty, not starting with "/"),
 *   also print "NAME: TEXT", as the others see it (protocol.ts: chat(), which replaces control
 *   characters as the server does); commands are sent and not printed;
 * - an "ERR ..." line before "* welcome NAME" means the name was refused: print it on standard
 *   error and exit with status 1;
 * - a line whose first word is "/quit", or the end of input: send "/quit" once, stop reading
 *   input, go on printing what arrives, and exit with status 0 when the server closes the
 *   connection;
 * - a server that cannot be reached (name host and port on standard error) or that closes or
 *   resets the connection without a /quit: a message on standard error, exit with status 1.
 *
 * Useful: net.connect(), socket.setEncoding('utf8'), readline.createInterface({ input: process.stdin }),
 * process.exitCode.
 */
function runClient(host: string, port: number, name: string): void {
  throw new NotImplemented('2.7', 'runClient in client.ts');
}

runClient(values.host, Number(values.port), values.name ?? '');
