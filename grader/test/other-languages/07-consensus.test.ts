import { test } from 'vitest';
import { ms } from '../support.js';
import { expectFullMarks, hasPython, python } from './python.js';

test.skipIf(!hasPython)('lab 7: a Python replica scores full marks, hidden phase included', { timeout: ms(400_000) }, async () => {
  await expectFullMarks('07-consensus', [python('consensus_replica.py')], { hidden: true, timeoutMs: 390_000 });
});
