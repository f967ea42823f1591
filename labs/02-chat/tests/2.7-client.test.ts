import lab from '../lab.js';
import { GradeFailure, phase, quote } from '../../../grader/harness/index.js';
import type { Conn, Harness, Proc } from '../../../grader/harness/index.js';
import { freePort } from '../../../grader/harness/ports.js';

const test = phase(lab, '2.7');

/** Starts the client against a fake server and plays the server's side of joining. */
async function started(h: Harness, label: string): Promise<{ client: Proc; link: Conn }> {
  const fake = await h.fakeServer();
  const client = await h.start('client', { name: label, params: { port: fake.port, name: 'ann' } });
  const link = await fake.accept({ from: client, what: 'the client to connect' });
  link.send('* fake chat server: choose a name\n');
  await link.expectLine('ann', { what: 'the name given with --name, as the client\'s first line (section 10, item 1)' });
  link.send('* welcome ann\n');
  await client.expectOutput('* welcome ann', { what: 'the welcome, printed' });
  return { client, link };
}

test('sends its name, and prints what arrives while the user is typing', { points: 4 }, async (h) => {
  const { client, link } = await started(h, 'client');
  // The user has typed half a line and not pressed Enter: lines from the server must still show.
  client.send('half-typed');
  link.send('bob: are you there?\n');
  await client.expectOutput('bob: are you there?', { what: 'a line from the server, printed while the user is still typing one (section 10, item 2)' });
  link.send('cat: a line split ');
  link.send('across two writes\n');
  await client.expectOutput('cat: a line split across two writes');
  client.send(', now finished ✓\n');
  await link.expectLine('half-typed, now finished ✓', { what: 'the line the user finished typing' });
  await client.expectOutput('ann: half-typed, now finished ✓', { what: 'the user\'s own chat line, printed as the others see it: "ann: ..." (section 10, item 3)' });
  client.send('/users\n');
  await link.expectLine('/users', { what: 'the command /users, sent as typed' });
  link.send('* users: ann bob cat\n');
  const next = await client.expectOutput(/./, { what: 'the answer to /users' });
  if (next !== '* users: ann bob cat') {
    throw new GradeFailure(`after the user's own line, the client should print only what the server sends: commands are not printed (section 10, item 3); expected "* users: ann bob cat", got ${quote(next)}`);
  }
});

test('a refused name is an error', { points: 2 }, async (h) => {
  const fake = await h.fakeServer();
  const client = await h.start('client', { params: { port: fake.port, name: 'ann' } });
  const link = await fake.accept({ from: client, what: 'the client to connect' });
  await link.expectLine('ann', { what: 'the name, as the client\'s first line' });
  link.send('ERR name-taken someone here is already called ann\n');
  await client.expectExit('nonzero', { what: 'to exit with an error: the server refused its name (section 10, item 4)' });
  if (!client.stderrLines().some((line) => line.includes('ERR name-taken'))) {
    throw new GradeFailure(`the client exited, but did not print the server's error line "ERR name-taken ..." on standard error; it printed there:\n${client.stderrLines().join('\n') || '(nothing)'}`);
  }
});

test('/quit and the end of input send /quit, and exit 0 once the server closes', { points: 2 }, async (h) => {
  const byQuit = await started(h, 'client (quit)');
  byQuit.client.send('/quit\n');
  await byQuit.link.expectLine('/quit', { what: 'the /quit the user typed' });
  byQuit.link.send('* bye\n');
  byQuit.link.end();
  await byQuit.client.expectExit(0, { what: 'to exit with status 0 once the server closed the connection after /quit' });

  const byEnd = await started(h, 'client (end of input)');
  byEnd.client.endInput();
  await byEnd.link.expectLine('/quit', { what: 'a /quit sent at the end of input (section 10, item 5)' });
  byEnd.link.send('* bye\n');
  byEnd.link.end();
  await byEnd.client.expectExit(0, { what: 'to exit with status 0 once the server closed the connection after the end of input' });
});

test('a server that cannot be reached or goes away is an error', { points: 2 }, async (h) => {
  const nobody = await freePort();
  const lonely = await h.start('client', { name: 'client (no server)', params: { port: nobody, name: 'ann' } });
  await lonely.expectExit('nonzero', { what: 'to exit with an error: nothing listens on its port' });
  if (!lonely.stderrLines().some((line) => line.includes(String(nobody)))) {
    throw new GradeFailure(`the client exited, but its standard error does not name the port ${nobody} it could not reach; it printed:\n${lonely.stderrLines().join('\n') || '(nothing)'}`);
  }

  const reset = await started(h, 'client (server resets)');
  await reset.link.reset();
  await reset.client.expectExit('nonzero', { what: 'to exit with an error after the server reset the connection' });
  if (reset.client.stderrLines().length === 0) throw new GradeFailure('the client exited after the server reset the connection, but printed no message on standard error; it must say what happened there (section 10, item 6)');

  const closed = await started(h, 'client (server closes)');
  closed.link.send('ERR slow-consumer you were not reading\n');
  closed.link.end();
  await closed.client.expectOutput(/^ERR slow-consumer/, { what: 'the server\'s last line, printed' });
  await closed.client.expectExit('nonzero', { what: 'to exit with an error: the server closed the connection without a /quit (section 10, item 6)' });
});
