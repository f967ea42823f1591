// The kit's own tests (`npm test`). Phase tests under labs/*/tests are not among them: the
// grader runs those, and grader/test/labs.test.ts runs the grader on every lab.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['grader/test/**/*.test.ts', 'solutions/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 30_000,
  },
});
