// A client that stops reading must not hurt the others (spec/02-chat.md, section 9). Three
// clients talk in rounds while one or two others never read. Each round, every talker sends 32
// lines of about 1 KB and waits to receive the other talkers' lines of that round, so the
// talkers never fall behind and the server never has much waiting for them. The silent ones
// fall further behind every round, until the server cuts them off; the operating system's
// socket buffers take a few MiB first, so that takes some rounds.
import lab from '../lab.js';
import { GradeFailure, phase, quote } from '../../../grader/harness/index.js';
import type { Harness } from '../../../grader/harness/index.js';
import { LineStream, errorLine, join, joinAll, residentKb, unexpected } from './chat.js';
import { osHeldBytes } from './queues.js';

const test = phase(lab, '2.6');

const talkers = ['ann', 'bob', 'cat'] as const;
const linesPerRound = 32;
const padding = '.'.repeat(950);
const bound = 1024 * 1024;
/** If the silent clients are still connected after this much was sent to each, the server has no bound. */
const giveUpBytes = 32 * 1024 * 1024;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** What a talker sends as its line k of a round. */
function lineText(round: number, k: number): string {
  return `round ${round} line ${k} ${padding}`;
}

/** That line as the others receive it: "NAME: " and the text. */
function chatLine(talker: number, round: number, k: number): string {
  return `${talkers[talker]}: ${lineText(round, k)}`;
}

async function slowConsumers(h: Harness, silent: string[]): Promise<void> {
  const server = await h.start();
  const all = await joinAll(h, server, [...talkers, ...silent]);
  const fast = all.slice(0, talkers.length);
  const slow = all.slice(talkers.length);
  for (const conn of slow) conn.socket.pause();
  h.note(`${silent.join(' and ')} stop${silent.length === 1 ? 's' : ''} reading`);
  const memoryBefore = residentKb(server.pid);
  const streams = fast.map((conn) => new LineStream(conn));
  const seenLeaving = fast.map(() => new Set<string>());
  let round = 0;
  let sentToEach = 0;

  /** One round: everyone talks, and every talker receives the others' lines of the round, in order. */
  async function talk(): Promise<void> {
    round++;
    for (const [i, conn] of fast.entries()) {
      let text = '';
      for (let k = 0; k < linesPerRound; k++) {
        text += `${lineText(round, k)}\n`;
        sentToEach += Buffer.byteLength(chatLine(i, round, k)) + 1;
      }
      conn.send(text);
    }
    await Promise.all(
      streams.map(async (stream, me) => {
        const next = talkers.map(() => 0);
        let got = 0;
        while (got < linesPerRound * (talkers.length - 1)) {
          const what = `the other talkers' lines of round ${round} (${got} of ${linesPerRound * (talkers.length - 1)}) while ${silent.join(' and ')} did not read: the others must keep receiving (section 9, item 1)`;
          for (const line of await stream.lines({ what, timeoutMs: 10_000 })) {
            const gone = /^\* (\S+) left$/.exec(line)?.[1];
            if (gone !== undefined && silent.includes(gone)) {
              seenLeaving[me]!.add(gone);
              continue;
            }
            const from = talkers.findIndex((_, i) => i !== me && line === chatLine(i, round, next[i]!));
            if (from === -1) throw unexpected(stream.conn, line, `expected line ${Math.min(...next.filter((_, i) => i !== me))} of round ${round} from another talker, in order, or the notice that a silent client left`);
            next[from]!++;
            got++;
          }
        }
      }),
    );
  }

  while (!seenLeaving.every((seen) => seen.size === silent.length)) {
    if (sentToEach > giveUpBytes) {
      const memoryNow = residentKb(server.pid);
      const memory = memoryBefore && memoryNow ? `; meanwhile the server's memory grew from ${mib(memoryBefore * 1024)} to ${mib(memoryNow * 1024)}` : '';
      throw new GradeFailure(
        `${mib(sentToEach)} of chat was sent to each client that does not read, and the server has not cut ${silent.join(' and ')} off (the talkers saw no "* NAME left"): past ${mib(bound)} waiting for one client it must (section 9, item 4)${memory}`,
      );
    }
    await talk();
  }
  h.note(`${silent.join(' and ')} cut off after ${round} rounds, ${mib(sentToEach)} sent to each`);
  // A client that was cut off is gone: what it still sends is ignored (section 9, item 4), and
  // the talkers' streams, read strictly from here on, would show any of it.
  for (const [s, conn] of slow.entries()) conn.send(`${silent[s]} still talks after the cut\n`);

  const memoryAfter = residentKb(server.pid);
  if (memoryBefore !== undefined && memoryAfter !== undefined) {
    h.note(`server memory: ${mib(memoryBefore * 1024)} before, ${mib(memoryAfter * 1024)} after`);
    if (memoryAfter - memoryBefore > 256 * 1024) {
      throw new GradeFailure(`the server's memory grew from ${mib(memoryBefore * 1024)} to ${mib(memoryAfter * 1024)} while ${mib(sentToEach)} was sent to each client: it should hold at most ${mib(bound)} for a client that does not read`);
    }
  }

  // Each silent client now reads: everything up to the cut, in order, then the reason, then the close.
  for (const [s, conn] of slow.entries()) {
    const stream = new LineStream(conn);
    // What the OS holds for this client now, while it still reads nothing; with the bytes the
    // grader had already taken in, the rest of what it reads was waiting inside the server.
    const inOs = osHeldBytes(server.port!, conn.socket.localPort!);
    const inGrader = conn.unread + conn.socket.readableLength;
    conn.socket.resume();
    const lines = await stream.untilClosed({ what: `everything the server sent ${silent[s]}, then the close`, timeoutMs: 20_000 });
    const last = lines.pop();
    if (last === undefined || !errorLine('slow-consumer').test(last)) {
      throw new GradeFailure(`${silent[s]} read everything the server sent until it closed the connection; the last line should be "ERR slow-consumer ...", got ${last === undefined ? 'nothing at all' : quote(last)} (section 9, item 4)`);
    }
    const next = talkers.map(() => 0);
    let bytes = 0;
    for (const line of lines) {
      bytes += Buffer.byteLength(line) + 1;
      const gone = /^\* (\S+) left$/.exec(line)?.[1];
      if (gone !== undefined && silent.includes(gone)) continue;
      const from = talkers.findIndex((_, i) => line === chatLine(i, 1 + Math.floor(next[i]! / linesPerRound), next[i]! % linesPerRound));
      if (from === -1) throw unexpected(conn, line, 'expected the talkers\' lines in order, with none missing, up to the moment it was cut off (section 9, item 3)');
      next[from]!++;
    }
    if (inOs === undefined) {
      // No /proc/net/tcp (macOS, Windows): only the total can be checked, and the OS's buffers
      // alone may pass it. Said in the transcript; on Linux the check below is exact.
      h.note(`${silent[s]}: this OS does not publish its socket queues, so the grader cannot tell what the server itself held; it checks only that ${mib(bound)} arrived in all`);
      if (bytes < bound - 8 * 1024) {
        throw new GradeFailure(`${silent[s]} was cut off after only ${bytes} bytes had been sent to it; the server must keep up to ${bound} bytes waiting before it cuts a client off (section 9, item 2)`);
      }
    } else {
      const inServer = bytes - inOs - inGrader;
      h.note(`${silent[s]}: read ${bytes} bytes before the reason; the OS held ${inOs} of them, so ${inServer} waited inside the server`);
      // Half the bound at least: a cut that early is a server that cuts at the first sign of a
      // slow reader (write() returning false), not one that lets 1 MiB wait. The margin covers
      // what the OS may take from the server's queue after the cut.
      if (inServer < bound / 2) {
        throw new GradeFailure(
          `${silent[s]} was cut off when only ${inServer} bytes waited for it inside the server (it read ${bytes} bytes in all, ${inOs} of them from the OS's socket buffers, which do not count): the server must let up to ${bound} bytes wait before it cuts a client off (section 9, items 2 and 4)`,
        );
      }
      if (inServer > bound + 64 * 1024) {
        throw new GradeFailure(`${inServer} bytes waited for ${silent[s]} inside the server when it was cut off (it read ${bytes} bytes in all, ${inOs} of them from the OS's socket buffers): the bound is ${bound} bytes, and the line that would pass it is not queued (section 9, items 2 and 4)`);
      }
    }
  }

  // The room carries on: another round, and the names of the silent clients are free again.
  await talk();
  for (const name of silent) {
    await join(h, server, name);
    for (const stream of streams) {
      const line = await stream.line({ what: `the notice that a new ${name} joined` });
      if (line !== `* ${name} joined`) throw unexpected(stream.conn, line, `expected "* ${name} joined"`);
    }
  }
}

test('a client that never reads is cut off with ERR slow-consumer; the others keep talking', { points: 10 }, async (h) => {
  await slowConsumers(h, ['sloth']);
});

test('two clients that never read are each cut off on their own', { points: 5 }, async (h) => {
  await slowConsumers(h, ['sloth', 'snail']);
});
