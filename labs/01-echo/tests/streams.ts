// Lab 1's stream tests' own part (not a test file): payloads whose every byte says where it
// belongs, the size that backs an echo up, an echo checked as it comes, and the seeded
// schedules that phase 1.2 and the hidden phase 1.6 play.
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { GradeFailure, Random } from '../../../grader/harness/index.js';
import type { Conn, Harness, Proc } from '../../../grader/harness/index.js';
import { firstDifference, hexDiff } from '../../../grader/harness/show.js';
import { heldByOsAtRest } from '../../../grader/harness/procfs.js';

export const KiB = 1024;
export const MiB = 1024 * 1024;

const block = MiB;
const blocks = new Map<number, Buffer>();

/** 1 MiB of hashed bytes for one stream, made once. */
function blockOf(salt: number): Buffer {
  let bytes = blocks.get(salt);
  if (bytes) return bytes;
  bytes = Buffer.alloc(block);
  for (let i = 0; i < block; i++) {
    let x = Math.imul(i ^ salt, 0x9e3779b1);
    x ^= x >>> 15;
    x = Math.imul(x, 0x85ebca6b);
    bytes[i] = (x ^ (x >>> 13)) & 0xff;
  }
  blocks.set(salt, bytes);
  return bytes;
}

/**
 * `n` bytes of the stream `salt` from `offset` on. The stream is its block of hashed bytes,
 * turned by a different amount in each MiB: a byte that is lost, repeated or moved shows as a
 * difference at the place it went wrong, even a whole MiB of them.
 */
export function pattern(salt: number, offset: number, n: number): Buffer {
  const source = blockOf(salt);
  const bytes = Buffer.alloc(n);
  for (let at = 0; at < n; ) {
    const place = offset + at;
    const turn = (Math.floor(place / block) * 104_729) % block;
    const from = (place % block + turn) % block;
    const run = Math.min(n - at, block - (place % block), block - from);
    source.copy(bytes, at, from, from + run);
    at += run;
  }
  return bytes;
}

/**
 * More echo than the operating system holds for a client that does not read, so that the
 * server's writes back up and it must stop reading, then start again: the largest send buffer
 * (Linux says, in tcp_wmem; elsewhere 4 MiB) and then some.
 */
export function backsUp(extra: number): number {
  return (tcpSetting('tcp_wmem', 2) ?? 4 * MiB) + extra;
}

/** One of Linux's TCP buffer sizes (`tcp_wmem` or `tcp_rmem`: 0 least, 1 default, 2 largest), or undefined elsewhere. */
export function tcpSetting(name: 'tcp_wmem' | 'tcp_rmem', which: 0 | 1 | 2): number | undefined {
  try {
    return Number(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8').trim().split(/\s+/)[which]) || undefined;
  } catch {
    return undefined;
  }
}

/** Sizes from `low` to `high`, each size about as likely as its double. */
export function logSize(random: { next(): number }, low: number, high: number): number {
  return Math.floor(Math.exp(Math.log(low) + random.next() * (Math.log(high) - Math.log(low))));
}

/**
 * Reads the echo of `sent` (bytes `from` to `from + sent.length` of the stream), checking what
 * has come each time: a failure names the first byte that differs. Each wait for more has its
 * own deadline, so a long echo that keeps coming is never cut short.
 */
export async function expectEcho(conn: Conn, sent: Buffer, from: number, what: string, timeoutMs = 10_000): Promise<void> {
  for (let at = 0; at < sent.length; ) {
    const want = Math.min(sent.length - at, Math.max(1, conn.unread));
    const start = from + at;
    const got = await conn.readBytes(want, { what: `${what}: byte ${start} of the stream and on (${sent.length - at} bytes still to come back)`, timeoutMs });
    const expected = sent.subarray(at, at + want);
    if (!got.equals(expected)) {
      const first = firstDifference(expected, got);
      throw new GradeFailure(
        `${what}: byte ${start + first} of the stream is not the byte sent there (a byte lost, repeated or moved before it); from byte ${start} on:\n${hexDiff(expected, got)}`,
      );
    }
    at += want;
  }
}

// The edges of a stream, searched: each client plays a seeded random schedule (sizes of writes,
// pauses of its reading, slow then fast reading, where it half-closes or resets) and checks the
// spec's promise: every byte back once, in order, then the close (spec section 2, items 1, 4 and
// 6). The run's seed is printed with a failure; SWITCHBOARD_SEED=N plays the same schedules.
export type Kind =
  | 'backs up twice, read slowly then fast'
  | 'half-closes while backed up'
  | 'small writes, then a half-close'
  | 'resets'
  | 'mixed';

/** One client's schedule, played against `server`; what it did is kept in `plan` for a failure. */
async function play(h: Harness, server: Proc, n: number, kind: Kind, random: Random, plan: string[]): Promise<void> {
  const conn = await h.connect(server, { name: `client ${n} (${kind})` });
  const salt = random.int(0, 2 ** 31);
  let sent = 0;
  let checked = 0;
  const say = (step: string) => plan.push(step);
  /** Writes `total` bytes in pieces of `low` to `high` bytes, now and then letting them go one by one. */
  const write = async (total: number, low: number, high: number, told = true) => {
    if (told) say(`writes ${total} bytes in pieces of ${low}..${high}`);
    for (let left = total; left > 0; ) {
      const size = Math.min(left, logSize(random, low, high));
      conn.send(pattern(salt, sent, size));
      sent += size;
      left -= size;
      if (random.chance(0.1)) await new Promise(setImmediate);
    }
  };
  /** Reads nothing for a while (a schedule, not a wait for anything). */
  const pauseReading = async (ms: number) => {
    say(`reads nothing for ${ms} ms`);
    conn.socket.pause();
    await delay(ms);
  };
  /** Reads in short bursts with gaps: the echo keeps backing up and draining. */
  const readSlowly = async (ms: number) => {
    say(`reads slowly for ${ms} ms`);
    const end = Date.now() + ms;
    while (Date.now() < end) {
      conn.socket.resume();
      await delay(random.int(0, 3));
      conn.socket.pause();
      await delay(random.int(2, 15));
    }
  };
  /** Reads fast until everything sent so far has come back. */
  const catchUp = async () => {
    say(`reads fast until all ${sent} bytes are back`);
    conn.socket.resume();
    await expectEcho(conn, pattern(salt, checked, sent - checked), checked, `the echo of ${conn.name}`);
    checked = sent;
  };
  /**
   * Reads nothing while 1 to 3 MiB more than the OS holds comes back (its buffers grow as a
   * client reads, up to about that): the server must stop reading, then start again.
   */
  const backUp = async () => {
    conn.socket.pause();
    await write(backsUp(logSize(random, MiB, 3 * MiB)), 4 * KiB, 256 * KiB);
    await pauseReading(random.int(10, 150));
  };
  /**
   * Writes, reading nothing, until the server holds echo of its own, more than one read's worth:
   * one piece at a time, each once the OS took the one before, so that what left the grader's
   * socket is known. On Linux, where the kernel says what its buffers hold, until what is in none
   * of them (so inside the server) reaches a size drawn from 96 KiB to 768 KiB, whatever the
   * buffers' sizes, which grow as they are used; elsewhere a little more than the OS holds. It
   * stops too once the server takes no more for half a second, as a server that holds less does
   * (and as any server does where the kernel's table does not show its end of the connection).
   */
  const fillServer = async () => {
    const enough = backsUp(logSize(random, 192 * KiB, 1280 * KiB));
    const inside = logSize(random, 96 * KiB, 768 * KiB);
    say(`writes until the server holds ${inside} bytes of its own or takes no more (where the OS does not say, ${enough} bytes), in pieces of 4 KiB..256 KiB`);
    for (let taken = 0; taken < 64 * MiB; ) {
      const size = logSize(random, 4 * KiB, 256 * KiB);
      const piece = pattern(salt, sent, size);
      sent += size;
      if (!(await Promise.race([conn.write(piece), delay(500).then(() => false)]))) return;
      taken += size;
      if (process.platform !== 'linux') {
        if (taken >= enough) return;
        continue;
      }
      // While bytes still move the kernel's count is not to be trusted: write on.
      const held = heldByOsAtRest(conn.socket);
      if (held !== undefined && taken - held >= inside) return;
    }
  };
  const halfClose = () => {
    say('closes its side (FIN)');
    conn.end();
  };
  const reset = async () => {
    say('resets the connection (RST)');
    await conn.reset();
  };
  const expectClose = async () => {
    await conn.expectClosed({ what: `the server to close its side after the whole echo, and send nothing more (${conn.name} closed its side)` });
    if (/reset/.test(conn.state())) throw new GradeFailure(`the server reset the connection instead of closing it with a FIN after the echo (spec section 2, item 4)`);
  };

  switch (kind) {
    case 'backs up twice, read slowly then fast':
      await backUp();
      await readSlowly(random.int(50, 250));
      await catchUp();
      await backUp();
      if (random.chance(0.5)) await readSlowly(random.int(20, 200));
      await catchUp();
      await write(logSize(random, 1, 64 * KiB), 1, 64 * KiB);
      halfClose();
      await catchUp();
      await expectClose();
      break;
    case 'half-closes while backed up':
      // A little more than the OS holds: the server reads the FIN with echo of its own still to
      // send, or (past the 1 MiB it may hold) stops reading before the FIN.
      conn.socket.pause();
      await fillServer();
      halfClose();
      await pauseReading(random.int(0, 200));
      await readSlowly(random.int(0, 300));
      await catchUp();
      await expectClose();
      break;
    case 'small writes, then a half-close': {
      const writes = random.int(50, 200);
      say(`writes ${writes} pieces of 1..200 bytes, its reading now and then paused`);
      for (let i = writes; i > 0; i--) {
        await write(random.int(1, 200), 1, 200, false);
        if (random.chance(0.03)) {
          conn.socket.pause();
          await delay(random.int(1, 20));
        }
        if (random.chance(0.05)) conn.socket.resume();
      }
      halfClose();
      await catchUp();
      await expectClose();
      break;
    }
    case 'resets':
      if (random.chance(0.5)) conn.socket.pause();
      await write(logSize(random, 1, MiB), 1, 64 * KiB);
      if (random.chance(0.5)) await catchUp();
      await reset();
      break;
    case 'mixed':
      for (let i = random.int(2, 5); i > 0; i--) {
        const step = random.pick(['back up', 'write', 'read slowly', 'catch up'] as const);
        if (step === 'back up') await backUp();
        else if (step === 'write') await write(logSize(random, 1, 2 * MiB), 1, 256 * KiB);
        else if (step === 'read slowly') await readSlowly(random.int(20, 200));
        else await catchUp();
      }
      if (random.chance(0.25)) {
        await reset();
        break;
      }
      halfClose();
      if (random.chance(0.5)) await pauseReading(random.int(0, 100));
      await readSlowly(random.int(0, 100));
      await catchUp();
      await expectClose();
      break;
  }
}

/**
 * Plays one schedule of each of `kinds` at once on one server, then checks that the server still
 * serves. A failure names the client, its schedule up to the failure, and what went wrong.
 */
export async function playSchedules(h: Harness, kinds: Kind[]): Promise<void> {
  const server = await h.start();
  const schedules = kinds.map((kind, i) => ({ n: i + 1, kind, random: new Random(h.random.int(0, 2 ** 31)), plan: [] as string[] }));
  h.note(`${schedules.length} clients play seeded schedules at once: ${kinds.join('; ')}`);
  const outcomes = await Promise.allSettled(schedules.map((s) => play(h, server, s.n, s.kind, s.random, s.plan)));
  const failed = outcomes.findIndex((o) => o.status === 'rejected');
  if (failed >= 0) {
    const { n, kind, plan } = schedules[failed]!;
    const reason = (outcomes[failed] as PromiseRejectedResult).reason as Error;
    throw new GradeFailure(`client ${n} (${kind}) ${plan.join(', then ')}; and then: ${reason.message}`);
  }
  if (server.exit) throw new GradeFailure(`the server stopped during the schedules: ${server.exit.code ?? server.exit.signal}`);
  const last = await h.connect(server, { name: 'client after the schedules' });
  last.send('still there?\n');
  await last.expectLine('still there?', { what: 'an echo for a new client after the schedules' });
}
