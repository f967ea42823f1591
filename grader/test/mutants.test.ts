// Every phase test must be able to fail: small programs with one plausible student bug each,
// graded with --cmd, lose exactly the points of the tests their bug breaks, and no others.
import path from 'node:path';
import { expect, test } from 'vitest';
import { cleanup, root, runGrader } from './support.js';

const mutants = path.join(root, 'grader', 'test', 'fixtures', 'mutants');

const cases: { mutant: string; program?: string; phases: string[]; failing: string[] }[] = [
  { mutant: 'utf8-per-chunk', phases: ['1.1', '1.2'], failing: ['1.2 every byte value comes back unchanged', '1.2 a 1 MiB payload comes back unchanged', '1.2 UTF-8 characters split across writes come back whole'] },
  { mutant: 'no-error-handler', phases: ['1.3'], failing: ['1.3 clients that vanish abruptly do not take the server down'] },
  { mutant: 'never-closes', phases: ['1.1', '1.3'], failing: ['1.1 the server closes its side after the client closes', '1.3 20 clients, one after another'] },
  { mutant: 'one-at-a-time', phases: ['1.3', '1.4'], failing: ['1.4 50 clients interleaved', '1.4 a client that never reads does not block the others'] },
  { mutant: 'quiet-client', program: 'client', phases: ['1.5'], failing: ['1.5 an unreachable or vanished server is an error'] },
];

test.each(cases)('$mutant loses the points of exactly the tests its bug breaks', async ({ mutant, program, phases, failing }) => {
  const cmd = `${program ? `${program}=` : ''}node ${path.join(mutants, `${mutant}.mjs`)}`;
  const run = await runGrader(['1', ...(program ? ['--solution'] : []), ...phases.flatMap((p) => ['--phase', p]), '--cmd', cmd]);
  const tests = run.json.phases.flatMap((p) => p.tests);
  expect(tests.filter((t) => t.state === 'failed').map((t) => t.name).sort()).toEqual([...failing].sort());
  const lost = tests.filter((t) => t.state === 'failed').reduce((sum, t) => sum + t.maxPoints, 0);
  expect(run.json.score).toBe(run.json.maxScore - lost);
  cleanup(run);
});
