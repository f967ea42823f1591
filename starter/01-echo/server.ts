// Lab 1: a TCP echo server. Read labs/01-echo/README.md first, then spec/01-echo.md.
//
// main() below is done for you: it reads the flags, listens, and calls handleConnection for
// every client that connects. Your part is handleConnection.
import net from 'node:net';
import { parseArgs } from 'node:util';
import { NotImplemented } from './todo.js';

/**
 * Serves one client, from the moment it connects until the connection ends.
 *
 * Contract (spec/01-echo.md, section 2):
 * - every byte the client sends comes back to it unchanged and in order, however TCP splits or
 *   joins the stream: do not look for lines, do not decode text;
 * - when the client closes its side, finish sending what is queued, then close yours;
 * - a client that vanishes (a reset, an error) must not crash the server: other clients and
 *   later clients are still served;
 * - a client that never reads must not stop the server from serving the others (section 3).
 *
 * Useful: socket.on('data' | 'end' | 'error' | 'drain'), socket.write(), socket.pause(),
 * socket.resume().
 */
export function handleConnection(socket: net.Socket): void {
  throw new NotImplemented('1.1', 'handleConnection in server.ts');
}

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '7007' },
      host: { type: 'string', default: '127.0.0.1' },
    },
  });
  const port = Number(values.port);
  const server = net.createServer(handleConnection);
  server.on('error', (error) => {
    console.error(`server: cannot listen on ${values.host}:${port}: ${error.message}`);
    process.exit(1);
  });
  server.listen(port, values.host, () => console.log(`echo server listening on ${values.host}:${port}`));
}

main();
