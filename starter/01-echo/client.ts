// Lab 1: a line client for the echo server. Read spec/01-echo.md, section 4.
//
// The flags are read for you; the rest is yours.
import { parseArgs } from 'node:util';
import { NotImplemented } from './todo.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '7007' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

/**
 * Connects to the echo server at host:port and runs the client until it is done.
 *
 * Contract (spec/01-echo.md, section 4):
 * - each line read from standard input is sent to the server, ending in "\n";
 * - each line the server sends back is printed on standard output, and nothing else is;
 * - the line `quit` or `exit`, or the end of input, stops sending: close your side of the
 *   connection, print what the server still sends, and exit with status 0 once it closes;
 * - if the server cannot be reached, print a message naming host and port on standard error
 *   and exit with status 1; if the server closes the connection or resets it while you still
 *   want to send, print a message on standard error and exit with status 1.
 *
 * Useful: net.connect(), socket.setEncoding('utf8'), readline.createInterface({ input: process.stdin }),
 * process.exitCode.
 */
function runClient(host: string, port: number): void {
  throw new NotImplemented('1.5', 'runClient in client.ts');
}

runClient(values.host, Number(values.port));
