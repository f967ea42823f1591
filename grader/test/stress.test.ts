// The short version of `npm run stress` (bench/stress.ts), kept in `npm test`: while the machine
// is crowded, the grader takes no points for nothing. Two grader runs of lab 4's reference
// solution (--solution) side by side on its phases with the most servers, and a lab 3 batch of
// two solutions graded with --jobs 2 at the same time; vitest's other worker runs beside them.
import { expect, test } from 'vitest';
import { stress } from '../../bench/stress.js';
import { ms } from './support.js';

test('two lab 4 runs side by side and a lab 3 batch beside them lose no point', { timeout: ms(420_000) }, async () => {
  const result = await stress({ lab: '4', repeat: 1, side: 2, batchLab: '3', batch: 2, phases: ['4.1', '4.3'], timeoutMs: ms(400_000) });
  expect(result.lost, result.lines.join('\n')).toBe(0);
});
