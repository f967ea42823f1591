import { setTimeout as delay } from 'node:timers/promises';
import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import type { Conn } from '../../../grader/harness/index.js';
import { scaled } from '../../../grader/harness/wait.js';
import { heldByOsAtRest } from '../../../grader/harness/procfs.js';
import { KiB, MiB, expectEcho, pattern, tcpSetting } from './streams.js';

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

/**
 * Sends `total` bytes to `conn` 64 KiB at a time, each piece once the OS has taken the one
 * before, and returns how many bytes the OS has taken so far (to 64 KiB). One large write would
 * say nothing until all of it is gone: Node counts a write as pending until its last byte.
 */
function pump(conn: Conn, total: number): () => number {
  const piece = Buffer.alloc(64 * KiB, 'm');
  let accepted = 0;
  const next = () => {
    if (accepted >= total || conn.socket.destroyed) return;
    void conn.write(piece).then((written) => {
      if (!written) return;
      accepted += piece.length;
      next();
    });
  };
  next();
  return () => accepted;
}

test('a client that never reads costs the server bounded memory', { points: 6 }, async (h) => {
  const server = await h.start();
  const hog = await h.connect(server, { name: 'client that never reads' });
  // What the server has taken from this client is what left the grader's socket. Every byte of
  // it is in an OS buffer or inside the server, which may hold 1 MiB itself (spec section 3, item
  // 4). On Linux the kernel says what its buffers hold, so what is inside the server is known;
  // elsewhere only the total is, and more than the largest OS buffers and 1 MiB is a server that
  // keeps reading and queues the echo in memory.
  const inside = MiB + 64 * KiB;
  const limit = osBuffersBytes() + MiB;
  const total = limit + 32 * MiB;
  hog.socket.pause();
  const taken = pump(hog, total);
  /** Fails on what the server holds; returns whether the kernel's count was exact (nothing moving). */
  const check = (): boolean => {
    // A connection the server cut has nothing more to measure, and cutting it is a bug of its own.
    if (hog.socket.destroyed) {
      throw new GradeFailure(
        `the server ended the connection of a client that was only not reading (${hog.state()}): an echo server keeps the connection and stops reading from that client until its echo drains (spec section 3, item 4)`,
      );
    }
    if (server.exit) throw new GradeFailure(`the server stopped while a client sent ${total / MiB} MiB without reading: ${server.exit.code ?? server.exit.signal}`);
    // A piece the OS has taken whose callback has not run yet is in the kernel's count and not in
    // `sent`: an error in the server's favour.
    const sent = taken();
    const held = heldByOsAtRest(hog.socket);
    const fix = `Stop reading from a client while its echo is backed up: socket.pause() when write() returns false, and resume that socket, and only that one, on its own 'drain' (spec section 3, item 4)`;
    if (held !== undefined && sent - held > inside) {
      throw new GradeFailure(
        `the server holds ${((sent - held) / MiB).toFixed(1)} MiB of a client that read none of its echo: ${(sent / MiB).toFixed(1)} MiB left the grader's socket and the OS's buffers hold ${(held / MiB).toFixed(1)} MiB of it, both ways; the server may hold 1 MiB. ${fix}`,
      );
    }
    if (sent > limit) {
      throw new GradeFailure(
        `the server took ${(sent / MiB).toFixed(0)} MiB from a client that read none of its echo, more than the OS buffers (${((limit - MiB) / MiB).toFixed(0)} MiB at most) and 1 MiB inside the server can hold: it keeps reading and queues the echo in memory. ${fix}`,
      );
    }
    return held !== undefined;
  };
  // Meanwhile another client sends 64 MiB and reads the echo in short bursts with gaps: the
  // server's echo to it backs up and drains again and again. Each drain is that connection's own;
  // none may start the server reading again from the client that reads nothing.
  const busy = await h.connect(server, { name: 'a client that reads in bursts' });
  const pumped = pattern(7, 0, 64 * MiB);
  busy.send(pumped);
  let echoed = false;
  let echoFailed: unknown;
  expectEcho(busy, pumped, 0, 'the echo of the 64 MiB it sent while another client reads nothing').then(
    () => (echoed = true),
    (error: unknown) => (echoFailed = error),
  );
  const burstsMs = scaled(2_000);
  const watchMs = scaled(3_000);
  h.note(
    `sent ${total / MiB} MiB without reading, and 64 MiB from another client that reads its echo in bursts for ${burstsMs / 1000} s, then all of it; watching for ${watchMs / 1000} s at least, and until that echo is back, that the server holds at most 1 MiB of the first client's`,
  );
  const start = Date.now();
  let bursts = 0;
  while (Date.now() < start + watchMs || !echoed) {
    if (echoFailed) throw echoFailed;
    check();
    // The bursts are a schedule, not a wait for anything.
    if (Date.now() < start + burstsMs) {
      busy.socket.resume();
      await delay(1 + (bursts % 3));
      busy.socket.pause();
      await delay(5 + (bursts++ % 7));
    } else {
      busy.socket.resume();
      await delay(100);
    }
  }
  // A last look once nothing moves on the connection, so that the kernel's count is exact (Linux).
  for (const end = Date.now() + scaled(5_000); !check() && process.platform === 'linux' && Date.now() < end; ) await delay(50);
  const other = await h.connect(server, { name: 'another client' });
  other.send('still serving?\n');
  await other.expectLine('still serving?', { what: 'an echo for another client while the first one reads nothing' });
});
