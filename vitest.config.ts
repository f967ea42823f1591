// The kit's own tests (`npm test`). Phase tests under labs/*/tests are not among them: the
// grader runs those, and grader/test/labs/ runs the grader on every lab.
//
// Two projects: `quick` holds the tests that start no grader run (the harness, the codecs, the
// checker, the spec's consistency): `npm run test:quick` runs them alone, for the edit-run loop.
// `grading` holds the rest: solutions, starters, mutants, other languages, hostile programs,
// instructor tools, browsers. `npm test` runs both; grader/test/sequencer.ts starts the longest
// files first, by the times in grader/test/timings.json (`npm run test:timings`).
import { defineConfig } from 'vitest/config';
import LongestFirst from './grader/test/sequencer.js';

// Deadlines stretch with SWITCHBOARD_TIME_SCALE, as the grader's do.
const scale = Math.max(1, Number(process.env.SWITCHBOARD_TIME_SCALE) || 1);

// Test files at once. Most of a grading test's time is spent waiting on real processes (elections,
// deadlines, restarts): with two files at once a 2-core machine sat half idle (629 s of CPU in a
// 661 s run). SWITCHBOARD_TEST_WORKERS sets another number (the projects' own setting wins over
// --maxWorkers on the command line).
const workers = Number(process.env.SWITCHBOARD_TEST_WORKERS) || 4;

const quick = [
  'grader/test/wire.test.ts',
  'grader/test/proxy.test.ts',
  'grader/test/ports.test.ts',
  'grader/test/command.test.ts',
  'grader/test/trace.test.ts',
  'grader/test/consistency.test.ts',
  'grader/test/labs.test.ts',
  'grader/test/process.test.ts',
  'grader/test/reaper.test.ts',
  'grader/test/crash-states.test.ts',
  'grader/test/explore.test.ts',
  'grader/test/datafiles.test.ts',
  'grader/test/typecheck.test.ts',
  'solutions/**/*.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: workers,
    testTimeout: 120_000 * scale,
    hookTimeout: 30_000 * scale,
    sequence: { sequencer: LongestFirst },
    // Compiled test files kept on disk (node_modules/.experimental-vitest-cache), keyed by path
    // and content: the next run compiles only what changed. The grader keeps its own (engine.ts).
    experimental: { fsModuleCache: true },
    // Each file's CPU time, for npm run test:timings (it writes nothing otherwise).
    setupFiles: ['grader/test/cpu-usage.ts'],
    projects: [
      { extends: true, test: { name: 'quick', include: quick } },
      { extends: true, test: { name: 'grading', include: ['grader/test/**/*.test.ts'], exclude: quick } },
    ],
  },
});
