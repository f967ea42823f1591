// Any language is graded over the wire: Python programs written from the specs alone, graded
// with --cmd for every program of the lab, score full marks. A point lost here means a test
// grades something the spec does not say, or the spec is unclear. One file per lab, so that
// vitest spreads the labs over its workers; this holds what they share.
import path from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import { loadLab } from '../../labs.js';
import { cleanup, root, runGrader, type GraderRun } from '../support.js';

// Relative to the kit's folder, where the grader runs them: no spaces to quote in a command.
const fixtures = path.join('grader', 'test', 'fixtures', 'python');

// The fixtures need Python 3.10 or later (they use `X | None` annotations).
const probe = await execa('python3', ['-c', 'import sys; print(sys.executable); sys.exit(sys.version_info < (3, 10))'], { reject: false });
export const hasPython = probe.exitCode === 0;

// The interpreter itself, not what `python3` names on the PATH: where a version manager (pyenv,
// asdf) puts a shell-script shim there, every start runs that script first, about 65 ms of CPU,
// and the five labs start Python some 700 times. The fixtures run the same either way.
const executable = String(probe.stdout).trim();
const interpreter = hasPython && executable && !/\s/.test(executable) ? executable : 'python3';

/** `<python> grader/test/fixtures/python/<file>`, as a --cmd value. */
export function python(file: string): string {
  return `${interpreter} ${path.join(fixtures, file)}`;
}

// Phase 5.7 runs the server under strace; where strace is missing it scores nothing, by design.
export const hasStrace = process.platform === 'linux' && (await execa('strace', ['-V'], { reject: false })).exitCode === 0;

/** The failed phases, each with its tests' errors: an empty list reads best when it is not. */
function failures(run: GraderRun): string[] {
  return [
    ...run.json.errors,
    ...run.json.phases
      .filter((p) => p.status !== 'passed')
      .map((p) => `${p.id} ${p.status}: ${p.tests.filter((t) => t.state !== 'passed').map((t) => `${t.name}: ${t.error}`).join('; ')}`),
  ];
}

/** Grades lab `dir` with these --cmd values (and --hidden if asked): every phase run, full marks. */
export async function expectFullMarks(dir: string, cmds: string[], options: { hidden: boolean; timeoutMs: number }): Promise<void> {
  const args = [String(Number(dir.slice(0, 2))), ...(options.hidden ? ['--hidden'] : []), ...cmds.flatMap((c) => ['--cmd', c])];
  const run = await runGrader(args, { timeoutMs: options.timeoutMs });
  const lab = await loadLab(root, dir, { hidden: options.hidden });
  expect(run.json.phases.map((p) => p.id)).toEqual(lab.phases.map((p) => p.id));
  expect(failures(run)).toEqual([]);
  expect(run.json.maxScore).toBe(lab.phases.reduce((sum, p) => sum + p.points, 0));
  expect(run.json.score).toBe(run.json.maxScore);
  cleanup(run);
}
