import lab from '../lab.js';
import { phase } from '../../../grader/harness/index.js';

const test = phase(lab, '1.1');

test('a line comes back', { points: 10 }, async (h) => {
  const server = await h.start();
  const client = await h.connect(server);
  client.send('hello, echo\n');
  await client.expectLine('hello, echo', { what: 'the echo of "hello, echo"' });
});

test('the server closes its side after the client closes', { points: 5 }, async (h) => {
  const server = await h.start();
  const client = await h.connect(server);
  client.send('last words\n');
  client.end();
  await client.expectLine('last words', { what: 'the echo of the line sent just before closing' });
  await client.expectClosed({ what: 'the server to close its side after ours' });
});
