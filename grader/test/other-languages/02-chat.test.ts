import { test } from 'vitest';
import { ms } from '../support.js';
import { expectFullMarks, hasPython, python } from './python.js';

test.skipIf(!hasPython)('lab 2: a Python chat server and client score full marks, hidden phases included', { timeout: ms(240_000) }, async () => {
  await expectFullMarks('02-chat', [python('chat_server.py'), `client=${python('chat_client.py')}`], { hidden: true, timeoutMs: 230_000 });
});
