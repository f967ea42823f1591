// Lab 3 reference solution: the messaging server (spec/03-protocol.md).
//
//   server --port N [--host H] [--wire binary|json]
//
// The files, from the bytes up:
//   frames.ts       the 12-byte header and the FrameReader that reassembles frames from TCP reads
//   values.ts       the value types; encode.ts and decode.ts, the binary codec; json.ts, the JSON one
//   wire.ts         the two encodings behind one interface, chosen by --wire
//   messages.ts     type numbers, error codes, checking a payload's shape
//   service.ts      accounts, login, queues and delivery, with no I/O in it
//   passwords.ts    salted hashes; wildcard.ts, the pattern matcher
//   connection.ts   one client's connection: frames in, replies and pushes out
import net from 'node:net';
import { parseArgs } from 'node:util';
import { serveConnection } from './connection.js';
import { Service } from './service.js';
import { wires } from './wire.js';

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '7007' },
      host: { type: 'string', default: '127.0.0.1' },
      wire: { type: 'string', default: 'binary' },
    },
  });
  const wire = wires[values.wire];
  if (!wire) {
    console.error(`server: --wire must be binary or json, not ${values.wire}`);
    process.exit(2);
  }
  const port = Number(values.port);
  // One service for all connections: the accounts and queues are shared, the encoding is the flag's.
  const service = new Service((value) => wire.encode(value).length);
  const server = net.createServer((socket) => serveConnection(socket, service, wire));
  server.on('error', (error) => {
    console.error(`server: cannot listen on ${values.host}:${port}: ${error.message}`);
    process.exit(1);
  });
  server.listen(port, values.host, () => console.log(`protocol server (${wire.name}) listening on ${values.host}:${port}`));
}

main();
