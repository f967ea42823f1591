// Every phase test must be able to fail: the fast few of the kit's mutants (reference solutions
// with one plausible student bug each, grader/test/fixtures/mutants/NN-name/*.patch marked
// "# fast") lose the points of the tests their header names. `npm run mutants` grades them all
// and reports caught/total per lab (grader/test/mutants.ts describes the format). Here a mutant
// whose entries are all full test names runs only those tests.
import { expect, test } from 'vitest';
import { gradeMutant, loadMutants } from './mutants.js';

const fast = loadMutants().filter((m) => m.fast);

test('there are fast mutants to grade', () => {
  expect(fast.length).toBeGreaterThan(0);
});

test.each(fast.map((m) => ({ ...m, id: `${m.lab}/${m.name}` })))('$id loses the tests its bug breaks', async (mutant) => {
  const outcome = await gradeMutant(mutant, { namedOnly: true });
  expect(outcome.error).toBeUndefined();
  expect(outcome.missed).toEqual([]);
});
