// Lab 1 reference solution: a TCP echo server.
//
// Every byte a client sends comes back to that client unchanged and in order. TCP carries a
// stream of bytes, not messages, so the server never looks for lines: it writes each chunk back
// as it arrives, however the network happened to cut the stream.
//
// One process serves every client at once. Node's sockets are non-blocking: the event loop calls
// us when a socket has data, and we never wait on one client while another is ready.
//
// Backpressure: if a client stops reading, the bytes we echo to it pile up in its socket's
// outgoing buffer. When write() says the buffer is full we stop reading from that client until
// it drains, so a client that never reads costs a bounded amount of memory and slows nobody else.
import net from 'node:net';
import { parseArgs } from 'node:util';

export function handleConnection(socket: net.Socket): void {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  console.log(`connection from ${peer}`);

  socket.on('data', (chunk) => {
    if (!socket.write(chunk)) socket.pause();
  });
  socket.on('drain', () => socket.resume());

  // When the client closes its side, Node finishes sending what is queued and closes ours
  // (the default allowHalfOpen: false), which is what the spec asks for.
  socket.on('end', () => console.log(`${peer} closed the connection`));

  // A client that vanishes mid-stream (a reset) is normal on a network: note it and carry on.
  // Without this handler the error would be thrown and would crash the whole server.
  socket.on('error', (error) => console.log(`${peer}: ${error.message}`));
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
