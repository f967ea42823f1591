// The kit's invariants, for every lab in labs/: the reference solution scores full marks, and
// the starter scores zero on every phase, quickly, with an explanation that points at the TODO.
import { describe, expect, test } from 'vitest';
import { labDirs, loadLab } from '../labs.js';
import { cleanup, committedStarter, expectNoDeadlineRanOut, root, runGrader } from './support.js';

const labs = await Promise.all(labDirs(root).map((dir) => loadLab(root, dir)));

describe.each(labs.map((lab) => [lab.dir, lab] as const))('%s', (_, lab) => {
  test('the reference solution scores full marks', async () => {
    const run = await runGrader([String(lab.number), '--solution']);
    const failed = run.json.phases.filter((p) => p.status !== 'passed');
    expect(failed.map((p) => `${p.id}: ${p.tests.filter((t) => t.state !== 'passed').map((t) => t.error).join('; ')}`)).toEqual([]);
    expect(run.json.score).toBe(run.json.maxScore);
    expect(run.code).toBe(0);
    cleanup(run);
  });

  test('the starter scores zero, fails fast, and names the TODO', async () => {
    const run = await runGrader([String(lab.number), '--impl', committedStarter(lab.dir)]);
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
});
