// Lab 2: the chat server. Read labs/02-chat/README.md first, then spec/02-chat.md.
//
// One process, one thread, many clients: Node's sockets are non-blocking, and the event loop
// calls your handlers when a socket has bytes or room for more. The files, one idea each:
//
//   protocol.ts    the limits and the exact text of every line the server sends (done for you)
//   lines.ts       finding lines in a byte stream, with the length limit      (yours)
//   outbox.ts      one client's outgoing lines, bounded                        (yours)
//   room.ts        who is here, and broadcasting to them                       (broadcast is yours)
//   connection.ts  one client, from its greeting to its leave                  (yours)
//   commands.ts    /users, /help, /quit, /msg                                  (/users is done, as an example)
//
// This file is done for you: it reads the flags, listens, and gives every new connection to a
// Connection.
import net from 'node:net';
import { parseArgs } from 'node:util';
import { Connection } from './connection.js';
import { Room } from './room.js';

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '7007' },
      host: { type: 'string', default: '127.0.0.1' },
    },
  });
  const port = Number(values.port);
  const room = new Room();
  // allowHalfOpen: when a client closes its side, you decide when to close ours (after what is
  // still queued for it), instead of Node closing it at once.
  const server = net.createServer({ allowHalfOpen: true }, (socket) => new Connection(socket, room));
  server.on('error', (error) => {
    console.error(`server: cannot listen on ${values.host}:${port}: ${error.message}`);
    process.exit(1);
  });
  server.listen(port, values.host, () => console.log(`chat server listening on ${values.host}:${port}`));
}

main();
