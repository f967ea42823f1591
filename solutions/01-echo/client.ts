// Lab 1 reference solution: a line client for the echo server.
//
// It reads lines from standard input and sends each to the server, and prints every line the
// server sends back. Sending and receiving are independent: input is read as it comes, and
// replies are printed as they arrive, whatever the network does to their boundaries.
//
// Ending: `quit`, `exit` or the end of input stops sending and closes our side of the connection
// (a FIN). The server then sends what is still on its way and closes its side; we print it and
// exit with status 0. If the server cannot be reached, or goes away while we still want to send,
// we say so on standard error and exit with status 1.
import net from 'node:net';
import readline from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '7007' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
const host = values.host;
const port = Number(values.port);

const socket = net.connect({ host, port });
// The decoder behind setEncoding keeps a UTF-8 character whole when TCP splits it across reads.
socket.setEncoding('utf8');

let connected = false;
let finished = false;
let received = '';
let input: readline.Interface | undefined;

function stop(code: number, message?: string): void {
  if (message) console.error(`client: ${message}`);
  process.exitCode = code;
  input?.close();
  process.stdin.destroy();
  socket.destroy();
}

/** We have nothing more to send: close our side and wait for the server to close its side. */
function finish(): void {
  if (finished) return;
  finished = true;
  socket.end();
}

socket.on('connect', () => {
  connected = true;
  input = readline.createInterface({ input: process.stdin });
  input.on('line', (line) => {
    if (finished) return;
    if (line === 'quit' || line === 'exit') finish();
    else socket.write(`${line}\n`);
  });
  input.on('close', finish);
});

socket.on('data', (text: string) => {
  received += text;
  let newline: number;
  while ((newline = received.indexOf('\n')) >= 0) {
    console.log(received.slice(0, newline));
    received = received.slice(newline + 1);
  }
});

socket.on('end', () => {
  if (received) console.log(received);
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
