// The kit's invariants for one lab: the reference solution scores full marks, and the starter
// scores zero on every phase, quickly, with an explanation that points at the TODO. Each lab has
// a file of its own in grader/test/labs/, so that vitest spreads the labs over its workers.
//
// Each is one grader run that checks several things at once, since a run is what costs:
//   - labs 1 to 5 are graded with their hidden phases (those of labs 6 and 7 explore for a
//     minute each; the Python implementations in other-languages/ and `npm run test:deep` grade
//     them, and the reference solutions, with theirs);
//   - on Linux where bubblewrap works, the solution is graded confined (--sandbox), as a batch or
//     Gradescope grades a submission: full marks must hold there too. A student's own run, not
//     confined, is what the other files grade.
import { expect, test } from 'vitest';
import { loadLab } from '../labs.js';
import { bwrapWorks } from '../sandbox/index.js';
import { cleanup, committedStarter, expectNoDeadlineRanOut, ms, root, runGrader } from './support.js';

const confinable = process.platform === 'linux' && bwrapWorks();

export async function labInvariants(dir: string): Promise<void> {
  const open = await loadLab(root, dir);
  const hidden = open.number <= 5;
  const lab = await loadLab(root, dir, { hidden });
  const withHidden = hidden ? ['--hidden'] : [];
  // The grader bounds every phase by its own deadline; a run needs at most their sum, plus the
  // time to build and start. So the limit holds on a loaded machine and still ends a hang.
  const boundMs = lab.phases.reduce((sum, p) => sum + p.timeoutMs, 60_000);
  const how = [hidden && 'hidden phases included', confinable && 'confined'].filter(Boolean).join(', ');

  test(`${dir}: the reference solution scores full marks${how ? ` (${how})` : ''}`, { timeout: ms(boundMs + 10_000) }, async () => {
    const run = await runGrader([String(lab.number), '--solution', ...withHidden, ...(confinable ? ['--sandbox'] : [])], { timeoutMs: boundMs });
    expect(run.json.phases.map((p) => p.id)).toEqual(lab.phases.map((p) => p.id));
    const failed = run.json.phases.filter((p) => p.status !== 'passed');
    expect(failed.map((p) => `${p.id}: ${p.tests.filter((t) => t.state !== 'passed').map((t) => t.error).join('; ')}`)).toEqual([]);
    expect(run.json.maxScore).toBe(lab.phases.reduce((sum, p) => sum + p.points, 0));
    expect(run.json.score).toBe(run.json.maxScore);
    expect(run.code).toBe(0);
    if (confinable) expect((run.json as unknown as { protections: { confined: boolean } }).protections.confined).toBe(true);
    cleanup(run);
  });

  test(`${dir}: the starter scores zero, fails fast, and names the TODO${hidden ? ' (hidden phases included)' : ''}`, { timeout: ms(boundMs + 10_000) }, async () => {
    const run = await runGrader([String(lab.number), '--impl', committedStarter(lab.dir), ...withHidden], { timeoutMs: boundMs });
    expect(run.json.phases.map((p) => p.id)).toEqual(lab.phases.map((p) => p.id));
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
