// Slow clients, shared by phase 2.6 and the hidden phase 2.9 (spec/02-chat.md, section 9).
// Not a test file (no phase id in its name).
//
// Three talkers fill the room in rounds. Each round, every talker sends `linesPerRound` lines in
// one write and then waits to receive the other talkers' lines of that round, so the talkers
// never fall behind and the server never has much waiting for them. Whoever does not read falls
// further behind every round. The operating system's socket buffers take a few MiB of that
// before the server holds any of it, so reaching the bound takes some rounds.
import type { Conn, Harness } from '../../../grader/harness/index.js';
import { GradeFailure, quote } from '../../../grader/harness/index.js';
import { LineStream, errorLine, join, joinAll, residentKb, unexpected } from './chat.js';
import { osHeldBytes } from './queues.js';

export const talkers = ['ann', 'bob', 'cat'] as const;
export const bound = 1024 * 1024;
/** If a client that does not read is still connected after this much was sent to it, the server has no bound. */
export const giveUpBytes = 32 * 1024 * 1024;
export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** The lines of a round: how many each talker sends, and how long each is. */
export interface Shape {
  linesPerRound: number;
  /** Dots at the end of each line: about the line's length in bytes. */
  padding: number;
}

/** Lines of about 1 KB, 32 per talker and round: about 93 KB a round for each listener. */
export const longLines: Shape = { linesPerRound: 32, padding: 950 };

/** What a talker sends as its line k of a round. */
export function lineText(shape: Shape, round: number, k: number): string {
  return `round ${round} line ${k} ${'.'.repeat(shape.padding)}`;
}

/** That line as the others receive it: "NAME: " and the text. */
export function chatLine(shape: Shape, talker: number, round: number, k: number): string {
  return `${talkers[talker]}: ${lineText(shape, round, k)}`;
}

/** The talkers' side of the room: one round at a time. */
export class Talk {
  round = 0;
  /** The shape of each round so far: rounds[r - 1] for round r. */
  readonly rounds: Shape[] = [];
  /** Bytes of chat the server produced for each client that is not a talker. */
  sentToEach = 0;
  private readonly streams: LineStream[];

  /**
   * `other(line, talker)` is asked about every line a talker gets that is not a talker's: it
   * returns true to pass over it (a notice the test expects) or throws.
   */
  constructor(
    conns: Conn[],
    readonly shape: Shape,
    private readonly context: string,
    private readonly other: (line: string, talker: number) => boolean,
  ) {
    this.streams = conns.map((conn) => new LineStream(conn));
  }

  /** The talkers' streams, to read what comes after the rounds. */
  get lineStreams(): LineStream[] {
    return this.streams;
  }

  /**
   * One round: everyone talks, and every talker receives the others' lines of the round, in
   * order. The lines have the talk's shape, or the one given.
   */
  async next(shape: Shape = this.shape): Promise<void> {
    const round = ++this.round;
    this.rounds.push(shape);
    const { linesPerRound } = shape;
    for (const [i, stream] of this.streams.entries()) {
      let text = '';
      for (let k = 0; k < linesPerRound; k++) {
        text += `${lineText(shape, round, k)}\n`;
        this.sentToEach += Buffer.byteLength(chatLine(shape, i, round, k)) + 1;
      }
      stream.conn.send(text);
    }
    await Promise.all(
      this.streams.map(async (stream, me) => {
        const next = talkers.map(() => 0);
        let got = 0;
        while (got < linesPerRound * (talkers.length - 1)) {
          const what = `the other talkers' lines of round ${round} (${got} of ${linesPerRound * (talkers.length - 1)}) while ${this.context}: the others must keep receiving (section 9, item 1)`;
          for (const line of await stream.lines({ what, timeoutMs: 10_000 })) {
            const from = talkers.findIndex((_, i) => i !== me && line === chatLine(shape, i, round, next[i]!));
            if (from === -1) {
              if (this.other(line, me)) continue;
              throw unexpected(stream.conn, line, `expected line ${Math.min(...next.filter((_, i) => i !== me))} of round ${round} from another talker, in order`);
            }
            next[from]!++;
            got++;
          }
        }
      }),
    );
  }
}

/**
 * Checks, line by line, that a listener gets every talker's lines of every round so far, each
 * talker's in order (the talkers' lines may interleave).
 */
export class InOrder {
  /** Per talker, the round and line number of the line expected next. */
  private readonly next = talkers.map(() => ({ round: 1, k: 0 }));
  count = 0;

  constructor(private readonly talk: Talk) {}

  /** True if `line` is the next line of one of the talkers (and counts it). */
  take(line: string): boolean {
    const from = talkers.findIndex((_, i) => {
      const { round, k } = this.next[i]!;
      const shape = this.talk.rounds[round - 1];
      return shape !== undefined && line === chatLine(shape, i, round, k);
    });
    if (from === -1) return false;
    const at = this.next[from]!;
    if (++at.k === this.talk.rounds[at.round - 1]!.linesPerRound) {
      at.round++;
      at.k = 0;
    }
    this.count++;
    return true;
  }
}

/**
 * Clients called `silent` join, stop reading, and are cut off while the talkers talk. Then each
 * reads what the server kept for it: everything up to the cut, in order, `ERR slow-consumer`,
 * and the close; on Linux, where the OS says how much of that its buffers held, what waited
 * inside the server must be between half the bound and the bound.
 */
export async function slowConsumers(h: Harness, silent: string[], shape: Shape = longLines): Promise<void> {
  const server = await h.start();
  // Each silent client joins just before a talker (sloth, ann, snail, bob, ...): a server whose
  // broadcast loses its place when it cuts a client off in the middle of it (a member removed
  // from the list being walked) skips the talker that comes after it, who then misses a line.
  const order = [...talkers.flatMap((talker, i) => (i < silent.length ? [silent[i]!, talker] : [talker])), ...silent.slice(talkers.length)];
  const joined = await joinAll(h, server, order);
  const byName = (name: string) => joined[order.indexOf(name)]!;
  const all = [...talkers, ...silent].map(byName);
  const slow = all.slice(talkers.length);
  for (const conn of slow) conn.socket.pause();
  h.note(`${silent.join(' and ')} stop${silent.length === 1 ? 's' : ''} reading`);
  const memoryBefore = residentKb(server.pid);
  const seenLeaving = talkers.map(() => new Set<string>());
  const talk = new Talk(all.slice(0, talkers.length), shape, `${silent.join(' and ')} did not read`, (line, me) => {
    const gone = /^\* (\S+) left$/.exec(line)?.[1];
    if (gone === undefined || !silent.includes(gone)) return false;
    seenLeaving[me]!.add(gone);
    return true;
  });

  while (!seenLeaving.every((seen) => seen.size === silent.length)) {
    if (talk.sentToEach > giveUpBytes) {
      const memoryNow = residentKb(server.pid);
      const memory = memoryBefore && memoryNow ? `; meanwhile the server's memory grew from ${mib(memoryBefore * 1024)} to ${mib(memoryNow * 1024)}` : '';
      throw new GradeFailure(
        `${mib(talk.sentToEach)} of chat was sent to each client that does not read, and the server has not cut ${silent.join(' and ')} off (the talkers saw no "* NAME left"): past ${mib(bound)} waiting for one client it must (section 9, item 4)${memory}`,
      );
    }
    await talk.next();
  }
  h.note(`${silent.join(' and ')} cut off after ${talk.round} rounds, ${mib(talk.sentToEach)} sent to each`);
  // A client that was cut off is gone: what it still sends is ignored (section 9, item 4), and
  // the talkers' streams, read strictly from here on, would show any of it.
  for (const [s, conn] of slow.entries()) conn.send(`${silent[s]} still talks after the cut\n`);

  const memoryAfter = residentKb(server.pid);
  if (memoryBefore !== undefined && memoryAfter !== undefined) {
    h.note(`server memory: ${mib(memoryBefore * 1024)} before, ${mib(memoryAfter * 1024)} after`);
    if (memoryAfter - memoryBefore > 256 * 1024) {
      throw new GradeFailure(`the server's memory grew from ${mib(memoryBefore * 1024)} to ${mib(memoryAfter * 1024)} while ${mib(talk.sentToEach)} was sent to each client: it should hold at most ${mib(bound)} for a client that does not read`);
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
    const inOrder = new InOrder(talk);
    let bytes = 0;
    for (const line of lines) {
      bytes += Buffer.byteLength(line) + 1;
      const gone = /^\* (\S+) left$/.exec(line)?.[1];
      if (gone !== undefined && silent.includes(gone)) continue;
      if (!inOrder.take(line)) throw unexpected(conn, line, 'expected the talkers\' lines in order, with none missing, up to the moment it was cut off (section 9, item 3)');
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
          `${silent[s]} was cut off when only ${inServer} bytes waited for it inside the server (it read ${bytes} bytes in all, ${inOs} of them from the OS's socket buffers, which do not count): the server must let up to ${bound} bytes wait for each client before it cuts that client off (section 9, items 2 and 4)`,
        );
      }
      if (inServer > bound + 64 * 1024) {
        throw new GradeFailure(`${inServer} bytes waited for ${silent[s]} inside the server when it was cut off (it read ${bytes} bytes in all, ${inOs} of them from the OS's socket buffers): the bound is ${bound} bytes, and the line that would pass it is not queued (section 9, items 2 and 4)`);
      }
    }
  }

  // The room carries on: another round, and the names of the silent clients are free again.
  await talk.next();
  for (const name of silent) {
    await join(h, server, name);
    for (const stream of talk.lineStreams) {
      const line = await stream.line({ what: `the notice that a new ${name} joined` });
      if (line !== `* ${name} joined`) throw unexpected(stream.conn, line, `expected "* ${name} joined"`);
    }
  }
}
