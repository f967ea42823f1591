// Any language is graded over the wire: Python programs written from spec/01-echo.md,
// spec/02-chat.md and spec/05-persistence.md alone, graded with --cmd for every program of the
// lab, score full marks.
// A point lost here means a test grades something the spec does not say, or the spec is unclear.
import path from 'node:path';
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { loadLab } from '../labs.js';
import { cleanup, ms, root, runGrader, type GraderRun } from './support.js';

// Relative to the kit's folder, where the grader runs them: no spaces to quote in a command.
const python = path.join('grader', 'test', 'fixtures', 'python');

// The fixtures need Python 3.10 or later (they use `X | None` annotations).
const probe = await execa('python3', ['-c', 'import sys; sys.exit(sys.version_info < (3, 10))'], { reject: false });
const hasPython = probe.exitCode === 0;

/** The failed phases, each with its tests' errors: an empty list reads best when it is not. */
function failures(run: GraderRun): string[] {
  return [
    ...run.json.errors,
    ...run.json.phases
      .filter((p) => p.status !== 'passed')
      .map((p) => `${p.id} ${p.status}: ${p.tests.filter((t) => t.state !== 'passed').map((t) => `${t.name}: ${t.error}`).join('; ')}`),
  ];
}

test.skipIf(!hasPython)('lab 1: a Python echo server and line client score full marks', async () => {
  const run = await runGrader([
    '1',
    '--cmd', `python3 ${path.join(python, 'echo_server.py')}`,
    '--cmd', `client=python3 ${path.join(python, 'echo_client.py')}`,
  ]);
  const lab = await loadLab(root, '01-echo');
  expect(run.json.phases.map((p) => p.id)).toEqual(lab.phases.map((p) => p.id));
  expect(failures(run)).toEqual([]);
  expect(run.json.score).toBe(100);
  expect(run.json.maxScore).toBe(100);
  cleanup(run);
});

test.skipIf(!hasPython)('lab 2: a Python chat server and client score full marks, hidden phases included', { timeout: ms(240_000) }, async () => {
  const run = await runGrader(
    [
      '2',
      '--hidden',
      '--cmd', `python3 ${path.join(python, 'chat_server.py')}`,
      '--cmd', `client=python3 ${path.join(python, 'chat_client.py')}`,
    ],
    { timeoutMs: 230_000 },
  );
  const lab = await loadLab(root, '02-chat', { hidden: true });
  expect(lab.phases.some((p) => p.hidden)).toBe(true);
  expect(run.json.phases.map((p) => p.id)).toEqual(lab.phases.map((p) => p.id));
  expect(failures(run)).toEqual([]);
  expect(run.json.maxScore).toBe(lab.phases.reduce((sum, p) => sum + p.points, 0));
  expect(run.json.score).toBe(run.json.maxScore);
  cleanup(run);
});

// Phase 5.7 runs the server under strace; where strace is missing it scores nothing, by design.
const strace = process.platform === 'linux' && (await execa('strace', ['-V'], { reject: false })).exitCode === 0;

test.skipIf(!hasPython)('lab 5: a Python durable server and reconnecting client score full marks', { timeout: ms(300_000) }, async () => {
  const run = await runGrader(
    [
      '5',
      ...(strace ? ['--hidden'] : []),
      '--cmd', `python3 ${path.join(python, 'durable_server.py')}`,
      '--cmd', `client=python3 ${path.join(python, 'durable_client.py')}`,
    ],
    { timeoutMs: 290_000 },
  );
  const lab = await loadLab(root, '05-persistence', { hidden: strace });
  expect(run.json.phases.map((p) => p.id)).toEqual(lab.phases.map((p) => p.id));
  expect(failures(run)).toEqual([]);
  expect(run.json.score).toBe(run.json.maxScore);
  cleanup(run);
});

test.skipIf(!hasPython)('lab 6: Python replicas and client score full marks, hidden phases included', { timeout: ms(400_000) }, async () => {
  const run = await runGrader(
    [
      '6',
      '--hidden',
      '--cmd', `python3 ${path.join(python, 'replica.py')}`,
      '--cmd', `client=python3 ${path.join(python, 'replica_client.py')}`,
    ],
    { timeoutMs: 390_000 },
  );
  const lab = await loadLab(root, '06-replication', { hidden: true });
  expect(run.json.phases.map((p) => p.id)).toEqual(lab.phases.map((p) => p.id));
  expect(failures(run)).toEqual([]);
  expect(run.json.score).toBe(run.json.maxScore);
  cleanup(run);
});

test.skipIf(!hasPython)('lab 7: a Python replica scores full marks, hidden phase included', { timeout: ms(400_000) }, async () => {
  const run = await runGrader(['7', '--hidden', '--cmd', `python3 ${path.join(python, 'consensus_replica.py')}`], { timeoutMs: 390_000 });
  const lab = await loadLab(root, '07-consensus', { hidden: true });
  expect(run.json.phases.map((p) => p.id)).toEqual(lab.phases.map((p) => p.id));
  expect(failures(run)).toEqual([]);
  expect(run.json.score).toBe(run.json.maxScore);
  cleanup(run);
});
