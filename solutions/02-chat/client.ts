// Lab 2 reference solution: the chat client (spec/02-chat.md, section 10).
//
//   client.ts --port N --name NAME [--host H]
//
// It sends its name as soon as it is connected, then does two things at once, both driven by
// the event loop: every line the server sends is printed as it arrives, even in the middle of
// the user typing one, and every line the user types is sent. A chat line the user sends is
// also printed the way the others will see it ("NAME: text"), so the output reads as the
// conversation; commands are sent as they are.
//
// Ending: /quit, or the end of input, sends /quit; the server answers and closes the
// connection, and we exit with status 0. If the server refuses the name, cannot be reached, or
// goes away without being asked to, we say so on standard error and exit with status 1.
import net from 'node:net';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { chat } from './protocol.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '7007' },
    host: { type: 'string', default: '127.0.0.1' },
    name: { type: 'string' },
  },
});
const { host, name } = values;
const port = Number(values.port);
if (!name) {
  console.error('client: --name NAME is required');
  process.exit(2);
}

const socket = net.connect({ host, port });
// The decoder behind setEncoding keeps a UTF-8 character whole when TCP splits it across reads.
socket.setEncoding('utf8');

let connected = false;
let welcomed = false;
let quitting = false;
let received = '';
let input: readline.Interface | undefined;

function stop(code: number, message?: string): void {
  if (message) console.error(`client: ${message}`);
  process.exitCode = code;
  // The socket first: closing the input calls quit(), which must find nothing left to send on.
  socket.destroy();
  input?.close();
  process.stdin.destroy();
}

function quit(): void {
  if (quitting || socket.destroyed) return;
  quitting = true;
  socket.write('/quit\n');
  input?.close();
}

/** One line from the server. Until the welcome, an error line is the answer to our name. */
function show(line: string): void {
  if (!welcomed && line.startsWith('ERR ')) {
    stop(1, `the server refused the name ${name}: ${line}`);
    return;
  }
  if (line === `* welcome ${name}`) welcomed = true;
  console.log(line);
}

socket.on('connect', () => {
  connected = true;
  socket.write(`${name}\n`);
  input = readline.createInterface({ input: process.stdin });
  input.on('line', (line) => {
    if (quitting) return;
    // "/quit" with words after it is still a quit, as the server reads it (spec section 5).
    if (line.split(' ')[0] === '/quit') return quit();
    socket.write(`${line}\n`);
    // As the others see it: chat() replaces control characters as the server does.
    if (line !== '' && !line.startsWith('/')) console.log(chat(name, line));
  });
  // The end of input is a /quit; after our own /quit the close changes nothing.
  input.on('close', quit);
});

socket.on('data', (text: string) => {
  received += text;
  let newline: number;
  while (!socket.destroyed && (newline = received.indexOf('\n')) >= 0) {
    show(received.slice(0, newline).replace(/\r$/, ''));
    received = received.slice(newline + 1);
  }
});

socket.on('end', () => {
  if (quitting) stop(0);
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
