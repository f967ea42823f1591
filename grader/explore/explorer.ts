// The explorer (labs 6 and 7): a phase test runs many short schedules instead of one long one,
// each drawn from a seed of its own, each judged by the history checker before the next begins.
//
// A schedule is data drawn before it runs: which replica plays which part, which named point
// (points.ts) the fault strikes at, which faults come with it. Its seed comes from the test's seed
// (SWITCHBOARD_SEED and the test's name: grader/harness/random.ts) and its number, so
// SWITCHBOARD_SEED=N replays every schedule of the run, in order, with the same draws.
//
// Budget: each test says how many schedules it runs by default; SWITCHBOARD_EXPLORE=N (from
// `npm run lab N -- --explore N`) runs N of each instead, and the deadline of the test grows with
// them. The report's notes say how many ran and how long each took.
import type { Harness } from '../harness/index.js';
import { GradeFailure } from '../harness/wait.js';
import { Random, testSeed } from '../harness/random.js';

/** How many schedules a test runs: SWITCHBOARD_EXPLORE if given, else the test's own number. */
export function scheduleCount(standard: number): number {
  const given = process.env.SWITCHBOARD_EXPLORE;
  if (given === undefined || given.trim() === '') return standard;
  const n = Number(given);
  if (!Number.isInteger(n) || n < 1) throw new Error(`SWITCHBOARD_EXPLORE (--explore) wants a whole number of schedules from 1 up, got "${given}"`);
  return n;
}

/**
 * A phase's deadline for a test that runs `standard` schedules by default, `perScheduleMs` each at
 * most: the deadline of the phase in lab.ts is for the default count, and grows with --explore.
 */
export function exploreTimeout(standard: number, perScheduleMs: number, baseMs: number): number {
  return Math.max(baseMs, baseMs + (scheduleCount(standard) - standard) * perScheduleMs);
}

export interface Schedule {
  /** 1, 2, ...: its place in the test. */
  number: number;
  count: number;
  /** Its own generator, seeded from the test's seed and its number. */
  random: Random;
  seed: number;
}

/**
 * Runs `count` schedules one after another (each must set up and tear down what it starts through
 * `h`); the first that fails ends the test, naming its number and seed.
 */
export async function explore(h: Harness, standard: number, run: (s: Schedule) => Promise<void>): Promise<void> {
  const count = scheduleCount(standard);
  // Drawing from the test's generator makes the report print the seed that replays the test.
  h.random.next();
  const times: string[] = [];
  for (let number = 1; number <= count; number++) {
    const seed = testSeed(h.seed, `schedule ${number}`);
    const began = Date.now();
    h.note(`schedule ${number} of ${count} (its seed ${seed}, from the test's seed ${h.seed})`);
    try {
      await run({ number, count, random: new Random(seed), seed });
    } catch (error) {
      if (error instanceof GradeFailure) {
        throw new GradeFailure(`schedule ${number} of ${count} (its own seed ${seed}; SWITCHBOARD_SEED with the run's seed, printed below, replays every schedule of the test in order): ${error.message}`);
      }
      throw error;
    }
    times.push(`${((Date.now() - began) / 1000).toFixed(1)} s`);
  }
  h.note(`the explorer ran ${count} schedule${count > 1 ? 's' : ''}: ${times.join(', ')}`);
}
