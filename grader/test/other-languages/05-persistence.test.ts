import { test } from 'vitest';
import { ms } from '../support.js';
import { expectFullMarks, hasPython, hasStrace, python } from './python.js';

test.skipIf(!hasPython)('lab 5: a Python durable server and reconnecting client score full marks', { timeout: ms(300_000) }, async () => {
  await expectFullMarks('05-persistence', [python('durable_server.py'), `client=${python('durable_client.py')}`], { hidden: hasStrace, timeoutMs: 290_000 });
});
