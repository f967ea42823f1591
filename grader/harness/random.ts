// Seeded randomness for fault schedules. A run has one seed (SWITCHBOARD_SEED, or one the grader
// picks and prints); each test draws from its own generator, seeded from the run's seed and the
// test's name, so `SWITCHBOARD_SEED=N` replays every test's choices, with or without --phase.
import { createHash, randomInt } from 'node:crypto';

/** The run's seed: SWITCHBOARD_SEED when it is a whole number, otherwise a fresh one. */
export function runSeed(): number {
  const given = process.env.SWITCHBOARD_SEED;
  if (given !== undefined && given.trim() !== '') {
    const seed = Number(given);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`SWITCHBOARD_SEED must be a whole number from 0 up, got "${given}"`);
    return seed;
  }
  return randomInt(0, 2 ** 31);
}

/** A test's own seed, derived from the run's seed and the test's full name. */
export function testSeed(run: number, testName: string): number {
  return createHash('sha256').update(`${run}\0${testName}`).digest().readUInt32BE(0);
}

/** A small deterministic generator (mulberry32): the same seed gives the same sequence everywhere. */
export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }

  /** A whole number in [low, high). */
  int(low: number, high: number): number {
    if (!(high > low)) throw new Error(`Random.int wants low < high, got ${low} and ${high}`);
    return low + Math.floor(this.next() * (high - low));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Random.pick of an empty list');
    return items[this.int(0, items.length)]!;
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}
