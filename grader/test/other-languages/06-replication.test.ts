import { test } from 'vitest';
import { ms } from '../support.js';
import { expectFullMarks, hasPython, python } from './python.js';

test.skipIf(!hasPython)('lab 6: Python replicas and client score full marks, hidden phases included', { timeout: ms(400_000) }, async () => {
  await expectFullMarks('06-replication', [python('replica.py'), `client=${python('replica_client.py')}`], { hidden: true, timeoutMs: 390_000 });
});
