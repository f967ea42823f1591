// Phase 2.6 has one or two clients that never read, and lines of about 1 KB. These have the
// shapes it does not (spec/02-chat.md, section 9): four silent clients at once with lines of
// about 100 bytes, so that a server whose bound counts lines, or is shared by all its clients,
// cuts them off far too early; and a client that does read, slowly, a little at a time, so that
// half a MiB waits for it in the server for seconds but never 1 MiB: it must not be cut off. A
// server with a second, softer limit (so much waiting for so long, as some servers have) cuts
// it all the same. That client then closes its side while output still waits for it, and must
// get all of it before the close: a server that drops the connection at the FIN loses it.
import { setTimeout as delay } from 'node:timers/promises';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import type { Conn } from '../../../grader/harness/index.js';
import { scaled, seconds } from '../../../grader/harness/wait.js';
import { LineStream, joinAll, unexpected } from '../tests/chat.js';
import { osHeldBytes } from '../tests/queues.js';
import { InOrder, Talk, bound, giveUpBytes, longLines, mib, slowConsumers, talkers } from '../tests/slow.js';
import lab from './lab.js';

const test = phase(lab, '2.9');

test('four clients that never read, and short lines: each is cut off only once 1 MiB waits for it', { points: 5 }, async (h) => {
  // 320 lines of about 100 bytes a round: as many bytes as phase 2.6's rounds, ten times the lines.
  await slowConsumers(h, ['sloth', 'snail', 'slug', 'koala'], { linesPerRound: 320, padding: 80 });
});

/** Lets `conn`'s socket take `bytes` more bytes from the OS, waiting for them, then stops reading again. */
async function readSome(conn: Conn, bytes: number, what: string): Promise<void> {
  const socket = conn.socket;
  const target = socket.bytesRead + bytes;
  const timeoutMs = scaled(10_000);
  await new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      for (const event of ['data', 'end', 'close'] as const) socket.off(event, check);
      socket.pause();
      if (error) reject(error);
      else resolve();
    };
    function check(): void {
      if (socket.bytesRead >= target) done();
      else if (socket.destroyed || socket.readableEnded) done(new GradeFailure(`${conn.name} was reading ${what}, but ${conn.state()}`));
    }
    const timer = setTimeout(() => done(new GradeFailure(`${conn.name} waited ${seconds(timeoutMs)} for ${what} and got only ${bytes - (target - socket.bytesRead)} of ${bytes} bytes`)), timeoutMs);
    for (const event of ['data', 'end', 'close'] as const) socket.on(event, check);
    socket.resume();
    check();
  });
}

test('a client that reads slowly, a little at a time, is not cut off while less than 1 MiB waits for it', { points: 5 }, async (h) => {
  const server = await h.start();
  const all = await joinAll(h, server, [...talkers, 'tortoise']);
  const tortoise = all[talkers.length]!;
  tortoise.socket.pause();
  /** The most the grader saw waiting for tortoise in the server. */
  let most = 0;
  const talk = new Talk(all.slice(0, talkers.length), longLines, 'tortoise read slowly', (line) => {
    if (line !== '* tortoise left') return false;
    throw new GradeFailure(
      `the server cut tortoise off (the others got "* tortoise left") although tortoise was reading, slowly, and no more than about ${most} bytes ever waited for it inside the server: below the bound of ${bound} bytes a client is not cut off, however long its output waits, and loses nothing (section 9, items 3 and 4)`,
    );
  });
  const port = tortoise.socket.localPort!;
  // What waits for tortoise inside the server: what it was sent, less what it has read and what
  // the OS holds for it. Where the OS does not publish its queues, what tortoise has not read
  // bounds it from above.
  const waiting = (): number => {
    const inOs = osHeldBytes(server.port!, port) ?? 0;
    const now = talk.sentToEach - tortoise.socket.bytesRead - inOs;
    most = Math.max(most, now);
    return now;
  };
  if (osHeldBytes(server.port!, port) === undefined) h.note('this OS does not publish its socket queues: the grader keeps what tortoise has not read under 640 KiB, which tests less');

  // Fill the OS's buffers and then some, until half a MiB waits in the server.
  while (waiting() < 512 * 1024) {
    if (talk.sentToEach > giveUpBytes) {
      throw new GradeFailure(`${mib(talk.sentToEach)} was sent to tortoise, which read nothing, and only ${waiting()} bytes wait for it inside the server: a client that stops reading for a while must find every line waiting (section 9, item 3)`);
    }
    await talk.next();
  }
  h.note(`after ${talk.round} rounds, ${most} bytes wait for tortoise inside the server`);

  // For 6 seconds tortoise reads a little every half second (16 KiB asked, what one read from
  // the OS brings), and the others go on talking, in short lines, topped up with long ones
  // whenever less than half a MiB waits: output waits for it all along, far below the bound.
  // (The waits here are tortoise's slowness, a fault the test injects, not a synchronisation.)
  const small = { linesPerRound: 4, padding: 100 };
  const until = Date.now() + 6_000;
  while (Date.now() < until) {
    await readSome(tortoise, 16 * 1024, '16 KiB of what waits for it');
    while (waiting() < 512 * 1024) await talk.next();
    await talk.next(small);
    await delay(500);
  }
  h.note(`after ${talk.round} rounds, ${waiting()} bytes wait for tortoise, ${most} at the most`);

  // Still in the room, though behind: its line reaches the others.
  tortoise.send('slow and steady\n');
  for (const other of talk.lineStreams) {
    const line = await other.line({ what: 'tortoise\'s line: it is still in the room' });
    if (line !== 'tortoise: slow and steady') throw unexpected(other.conn, line, 'expected "tortoise: slow and steady"');
  }
  // Then it closes its side while output still waits for it in the server: the others hear it
  // left, and the server sends it everything first, then closes (section 7, item 2).
  tortoise.end();
  for (const other of talk.lineStreams) {
    const line = await other.line({ what: 'the notice that tortoise left, after it closed its side' });
    if (line !== '* tortoise left') throw unexpected(other.conn, line, 'expected "* tortoise left"');
  }
  // Tortoise catches up: every line of every round, in order, no "ERR slow-consumer", the close.
  const stream = new LineStream(tortoise);
  tortoise.socket.resume();
  const inOrder = new InOrder(talk);
  const expected = talk.rounds.reduce((sum, shape) => sum + shape.linesPerRound * talkers.length, 0);
  const lines = await stream.untilClosed({ what: 'the lines tortoise had not read yet, then the close', timeoutMs: 20_000 });
  for (const [i, line] of lines.entries()) {
    if (inOrder.take(line)) continue;
    // A last line cut short by the close is the server closing too soon, said below.
    if (i === lines.length - 1 && inOrder.count < expected) break;
    throw unexpected(tortoise, line, 'expected the talkers\' lines in order, with none missing: less than the bound ever waited for tortoise, so nothing may be lost (section 9, item 3)');
  }
  if (inOrder.count < expected) {
    throw new GradeFailure(
      `tortoise closed its side while lines still waited for it, and the server closed the connection after only ${inOrder.count} of the ${expected} lines meant for it: after a client's FIN the server sends what is still waiting, then closes (section 7, item 2)`,
    );
  }
});
