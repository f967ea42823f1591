// The kit's own tests (`npm test`). Phase tests under labs/*/tests are not among them: the
// grader runs those, and grader/test/labs/ runs the grader on every lab.
import { defineConfig } from 'vitest/config';

// Deadlines stretch with SWITCHBOARD_TIME_SCALE, as the grader's do.
const scale = Math.max(1, Number(process.env.SWITCHBOARD_TIME_SCALE) || 1);

export default defineConfig({
  test: {
    include: ['grader/test/**/*.test.ts', 'solutions/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000 * scale,
    hookTimeout: 30_000 * scale,
  },
});
