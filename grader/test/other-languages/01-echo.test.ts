import { test } from 'vitest';
import { ms } from '../support.js';
import { expectFullMarks, hasPython, python } from './python.js';

test.skipIf(!hasPython)('lab 1: a Python echo server and line client score full marks, hidden phase included', { timeout: ms(120_000) }, async () => {
  await expectFullMarks('01-echo', [python('echo_server.py'), `client=${python('echo_client.py')}`], { hidden: true, timeoutMs: 110_000 });
});
