// The kit's invariants for one lab: the reference solution scores full marks, and the starter
// scores zero on every phase, quickly, with an explanation that points at the TODO. Each lab has
// a file of its own in grader/test/labs/, so that vitest spreads the labs over its workers.
import { expect, test } from 'vitest';
import { loadLab } from '../labs.js';
import { cleanup, committedStarter, expectNoDeadlineRanOut, ms, root, runGrader } from './support.js';

export async function labInvariants(dir: string): Promise<void> {
  const lab = await loadLab(root, dir);
  // The grader bounds every phase by its own deadline; a run needs at most their sum, plus the
  // time to build and start. So the limit holds on a loaded machine and still ends a hang.
  const boundMs = lab.phases.filter((p) => !p.hidden).reduce((sum, p) => sum + p.timeoutMs, 60_000);

  test(`${dir}: the reference solution scores full marks`, { timeout: ms(boundMs + 10_000) }, async () => {
    const run = await runGrader([String(lab.number), '--solution'], { timeoutMs: boundMs });
    const failed = run.json.phases.filter((p) => p.status !== 'passed');
    expect(failed.map((p) => `${p.id}: ${p.tests.filter((t) => t.state !== 'passed').map((t) => t.error).join('; ')}`)).toEqual([]);
    expect(run.json.score).toBe(run.json.maxScore);
    expect(run.code).toBe(0);
    cleanup(run);
  });

  test(`${dir}: the starter scores zero, fails fast, and names the TODO`, { timeout: ms(boundMs + 10_000) }, async () => {
    const run = await runGrader([String(lab.number), '--impl', committedStarter(lab.dir)], { timeoutMs: boundMs });
    expect(run.json.score).toBe(0);
    expect(run.code).toBe(1);
    for (const phase of run.json.phases) {
      expect(phase.status, `phase ${phase.id}`).not.toBe('passed');
      for (const t of phase.tests.filter((t) => t.state === 'failed')) {
        expect(t.diagnostics?.todo, `${t.name} should point at a TODO`).toMatch(/not started: .* is still a TODO/);
      }
    }
    // Every test fails on its first wait: no deadline runs out on a starter.
    expectNoDeadlineRanOut(run);
    cleanup(run);
  });
}
