// Lab 7's phase 7.1 exists to show lab 6's design losing acknowledged data under a pause: graded on
// it, lab 6's reference replica must lose the phase's points, and for that reason (the paused
// primary acknowledges a SEND after it was replaced), not for a missing lab 7 feature. Phase 7.1
// passes only lab 6's flags, so a lab 6 replica runs under it unchanged.
import path from 'node:path';
import { expect, test } from 'vitest';
import { cleanup, ms, root, runGrader } from './support.js';

test("lab 6's reference replica, graded on phase 7.1, loses its points: the primary it replaced acknowledges a SEND", { timeout: ms(200_000) }, async () => {
  const run = await runGrader(['7', '--impl', path.join(root, 'solutions', '06-replication'), '--phase', '7.1'], { timeoutMs: 190_000 });
  const phase = run.json.phases.find((p) => p.id === '7.1')!;
  expect(phase.points).toBe(0);
  const paused = phase.tests.find((t) => t.name.startsWith('7.1 a primary paused until another is elected'))!;
  expect(paused.state).toBe('failed');
  expect(paused.error).toMatch(/woke up, and acknowledged carol's SEND with SENT \{id: \d+\}/);
  const resumed = phase.tests.find((t) => t.name.startsWith('7.1 a paused primary, resumed while clients write'))!;
  expect(resumed.state).toBe('failed');
  expect(resumed.error).toMatch(/to step down/);
  cleanup(run);
});
