import { setTimeout as delay } from 'node:timers/promises';
import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import type { Conn } from '../../../grader/harness/index.js';
import { scaled } from '../../../grader/harness/wait.js';
import { MiB, tcpSetting } from './streams.js';

const test = phase(lab, '1.4');

test('50 clients interleaved', { points: 8 }, async (h) => {
  const server = await h.start();
  const clients: Conn[] = [];
  for (let i = 0; i < 50; i++) clients.push(await h.connect(server, { name: `client ${i}` }));
  // Round after round, every client sends one line before any reply is read: the server has
  // all fifty connections open and busy at once, and each must get only its own lines back.
  for (let round = 1; round <= 3; round++) {
    for (const [i, client] of clients.entries()) client.send(`round ${round} from client ${i}\n`);
    for (const [i, client] of clients.entries()) {
      await client.expectLine(`round ${round} from client ${i}`, { what: `client ${i}'s own line of round ${round}` });
    }
  }
});

test('a client that never reads does not block the others', { points: 6 }, async (h) => {
  const server = await h.start();
  const hog = await h.connect(server, { name: 'client that never reads' });
  // Far more than the socket buffers hold: the echo back to this client has to stall.
  hog.socket.pause();
  hog.send(Buffer.alloc(16 * 1024 * 1024, 'z'));
  for (let i = 1; i <= 3; i++) {
    const other = await h.connect(server, { name: `other client ${i}` });
    other.send(`can you hear me? ${i}\n`);
    await other.expectLine(`can you hear me? ${i}`, { what: 'an echo while another client is not reading' });
    other.end();
  }
});

/**
 * The most the operating system can hold for one echo connection whose client does not read:
 * the send and receive buffers of both directions (client to server, server to client). Linux
 * says what its largest buffers are; elsewhere 32 MiB is well above the usual sizes.
 */
function osBuffersBytes(): number {
  const wmem = tcpSetting('tcp_wmem', 2);
  const rmem = tcpSetting('tcp_rmem', 2);
  return wmem && rmem ? 2 * (wmem + rmem) : 32 * MiB;
}

test('a client that never reads costs the server bounded memory', { points: 6 }, async (h) => {
  const server = await h.start();
  const hog = await h.connect(server, { name: 'client that never reads' });
  // What the server can have taken from this client is what left the grader's socket: every
  // byte the OS accepted from us is in an OS buffer or inside the server. The server may hold 1
  // MiB itself (spec section 3, item 4); past the OS buffers and that, it is queueing the echo
  // in memory instead of reading only as fast as its client reads.
  const limit = osBuffersBytes() + MiB;
  const total = limit + 32 * MiB;
  hog.socket.pause();
  hog.send(Buffer.alloc(total, 'm'));
  const taken = () => total - hog.socket.writableLength;
  const watchMs = scaled(3_000);
  h.note(`sent ${total / MiB} MiB without reading; watching for ${watchMs / 1000} s that the server takes at most ${(limit / MiB).toFixed(0)} MiB of it`);
  const end = Date.now() + watchMs;
  while (Date.now() < end) {
    // A connection the server cut has nothing more to measure, and cutting it is a bug of its own.
    if (hog.socket.destroyed) {
      throw new GradeFailure(
        `the server ended the connection of a client that was only not reading (${hog.state()}): an echo server keeps the connection and stops reading from that client until its echo drains (spec section 3, item 4)`,
      );
    }
    if (taken() > limit) {
      throw new GradeFailure(
        `the server took ${(taken() / MiB).toFixed(0)} MiB from a client that read none of its echo, more than the OS buffers (${((limit - MiB) / MiB).toFixed(0)} MiB at most) and 1 MiB inside the server can hold: it keeps reading and queues the echo in memory. Stop reading from a client while its echo is backed up (socket.pause() when write() returns false, resume on 'drain'; spec section 3, item 4)`,
      );
    }
    if (server.exit) throw new GradeFailure(`the server stopped while a client sent ${total / MiB} MiB without reading: ${server.exit.code ?? server.exit.signal}`);
    // Nothing is awaited here: the property is that the server never takes more, so it is watched for a while.
    await delay(50);
  }
  const other = await h.connect(server, { name: 'another client' });
  other.send('still serving?\n');
  await other.expectLine('still serving?', { what: 'an echo for another client while the first one reads nothing' });
});
