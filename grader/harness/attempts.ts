// Attempts to connect that reach no server: a client away from its server must try again at
// least every 500 ms (labs 5 and 6), and a refused attempt leaves no trace anywhere but in the
// client's own system calls. strace (Linux) records each connect() with its time.
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { execa } from 'execa';
import { GradeFailure } from './wait.js';
import type { FakeServer, Harness, Proc } from './index.js';

/** True on Linux with strace installed. */
export async function straceInstalled(): Promise<boolean> {
  if (process.platform !== 'linux') return false;
  const probe = await execa('strace', ['-V'], { reject: false });
  return probe.exitCode === 0;
}

/** strace's prefix for a client whose connect() calls are counted, with their times, into `file`. */
export function connectTrace(file: string): string[] {
  return ['strace', '-f', '-qq', '-ttt', '-e', 'trace=connect', '-o', file];
}

const awayMs = 5_000;
/** Three times the spec's 500 ms: a slow machine may delay a timer, never by a second. */
const gapLimitMs = 1_500;

/**
 * The rule that a client away from its server tries again at least every 500 ms (labs 5 and 6).
 * A refused attempt reaches no server, so strace counts them: every connect() to one of `fakes`'
 * ports while they are all away (5 s, every attempt refused), with its time. `client` runs under
 * connectTrace(file) and is connected to one of `fakes`; it is stopped at the end.
 */
export async function expectRetries(h: Harness, client: Proc, file: string, fakes: FakeServer[], gone: string, rule: string): Promise<void> {
  const dropped = Date.now();
  for (const fake of fakes) await fake.away();
  h.note(`${gone} went away (every attempt refused) for ${awayMs / 1000} s; strace records the client's connect() calls`);
  // The time away is the fault itself, not a wait for something to happen.
  await delay(awayMs);
  const until = Date.now();
  // strace writes out its record as it ends.
  await client.kill('SIGTERM');
  const ports = fakes.map((f) => f.port).join('|');
  const port = new RegExp(`sin6?_port=htons\\((${ports})\\)`);
  const attempts = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => /\bconnect\(/.test(line) && port.test(line) && !/= -1 (EALREADY|EISCONN)/.test(line))
    .map((line) => Math.round(Number(/^\d+\s+(\d+\.\d+)/.exec(line)?.[1]) * 1000))
    .filter((at) => at >= dropped && at <= until);
  const times = [dropped, ...attempts, until];
  const gaps = times.slice(1).map((at, i) => at - times[i]!);
  const worst = Math.max(...gaps);
  h.note(`${attempts.length} attempts to connect in ${((until - dropped) / 1000).toFixed(1)} s; the longest wait without one: ${worst} ms`);
  if (worst <= gapLimitMs) return;
  const at = gaps.indexOf(worst);
  const where = at === 0 ? 'from the drop to its first attempt' : at === gaps.length - 1 ? 'from its last attempt to the end of the look' : `between attempts ${at} and ${at + 1}`;
  throw new GradeFailure(
    `while ${gone} was away (${awayMs / 1000} s, every attempt refused) the client tried to connect ${attempts.length} times, and ${worst} ms passed ${where} (strace's record of its connect() calls: ${attempts.map((a) => `${((a - dropped) / 1000).toFixed(2)} s`).join(', ') || 'none'} after the drop). It must try at least every 500 ms, for 30 s (${rule}): a client that backs off finds a returning server late`,
  );
}
