import lab from '../lab.js';
import { GradeFailure, phase, quote } from '../../../grader/harness/index.js';
import type { Conn } from '../../../grader/harness/index.js';
import { connect, errorLine, join, joinAll, linesUntil } from './chat.js';

const test = phase(lab, '2.2');

/** Sends /users and checks the reply lists exactly `names`, in any order (section 5). */
async function expectUsers(conn: Conn, names: string[], what: string): Promise<void> {
  conn.send('/users\n');
  const line = await conn.expectLine(/^\* users: /, { what: `the answer to /users: "* users: " and the names of ${what}` });
  const got = line.slice('* users: '.length).split(' ');
  if ([...got].sort().join(' ') !== [...names].sort().join(' ')) {
    throw new GradeFailure(`${conn.name} sent /users and expected the names ${names.join(', ')} (in any order, separated by single spaces), got ${quote(line)}`);
  }
}

test('invalid names get ERR name-invalid, and the client may try again', { points: 4 }, async (h) => {
  const server = await h.start();
  const client = await connect(h, server, 'client choosing a name');
  const invalid = ['ann bob', ' ann', 'ann ', '9lives', '_ann', 'ann!', 'abcdefghijklmnopq', 'zoë', '/users'];
  for (const name of invalid) {
    client.send(`${name}\n`);
    await client.expectLine(errorLine('name-invalid'), { what: `"ERR name-invalid ..." for the name ${quote(name)} (section 3, item 3)` });
  }
  client.send('Ann_b-2\n');
  await client.expectLine('* welcome Ann_b-2', { what: 'the welcome for the valid name "Ann_b-2" after the invalid ones' });
});

test('a taken name gets ERR name-taken, and is free again once its owner leaves', { points: 4 }, async (h) => {
  const server = await h.start();
  const ann = await join(h, server, 'ann');
  const second = await connect(h, server, 'second client');
  second.send('ann\n');
  await second.expectLine(errorLine('name-taken'), { what: '"ERR name-taken ..." for the name ann, which is taken' });
  second.send('bob\n');
  await second.expectLine('* welcome bob', { what: 'the welcome for bob after ann was refused' });
  await ann.expectLine('* bob joined');
  ann.end();
  await second.expectLine('* ann left');
  const third = await connect(h, server, 'third client');
  third.send('ann\n');
  await third.expectLine('* welcome ann', { what: 'the welcome for ann: the name is free once its owner has left (section 7)' });
});

test('/users lists everyone in the room', { points: 3 }, async (h) => {
  const server = await h.start();
  const [ann, bob, cat] = await joinAll(h, server, ['ann', 'bob', 'cat']);
  await connect(h, server, 'client with no name');
  await expectUsers(bob, ['ann', 'bob', 'cat'], 'ann, bob and cat (the sender included, the client with no name left out)');
  cat.end();
  await ann.expectLine('* cat left');
  await expectUsers(ann, ['ann', 'bob'], 'ann and bob, after cat left');
  await bob.expectLine('* cat left');
});

test('/help answers with one or more lines starting with "* "', { points: 2 }, async (h) => {
  const server = await h.start();
  const ann = await join(h, server, 'ann');
  ann.send('/help\n/users\n');
  const help = await linesUntil(ann, /^\* users: ann$/, 'the /help lines, then "* users: ann" for the /users sent after /help');
  if (help.length === 0) throw new GradeFailure('/help was answered with no lines at all; expected one or more lines starting with "* " (section 5)');
  const odd = help.find((line) => !line.startsWith('* '));
  if (odd !== undefined) throw new GradeFailure(`every /help line must start with "* " (section 5), got ${quote(odd)}`);
});

test('/msg reaches one client only; no one there, or no text, is an error', { points: 4 }, async (h) => {
  const server = await h.start();
  const [ann, bob, cat] = await joinAll(h, server, ['ann', 'bob', 'cat']);
  ann.send('/msg bob psst:  a secret\n');
  await bob.expectLine('ann (direct): psst:  a secret', { what: 'ann\'s direct message, as "ann (direct): psst:  a secret"' });
  ann.send('public\n');
  await cat.expectLine('ann: public', { what: 'ann\'s public line, and nothing before it: the direct message was for bob only' });
  await bob.expectLine('ann: public');
  ann.send('/msg zed hi\n');
  await ann.expectLine(errorLine('no-such-user'), { what: '"ERR no-such-user ..." for /msg to zed, and nothing before it: the sender of a direct message gets no copy' });
  for (const line of ['/msg bob', '/msg', '/msg bob ']) {
    ann.send(`${line}\n`);
    await ann.expectLine(errorLine('usage'), { what: `"ERR usage ..." for ${quote(line)}: a /msg needs a NAME and a TEXT` });
  }
});

test('unknown commands are errors; /quit says bye and closes', { points: 3 }, async (h) => {
  const server = await h.start();
  const [ann, bob] = await joinAll(h, server, ['ann', 'bob']);
  for (const line of ['/dance', '/USERS', '/users2']) {
    ann.send(`${line}\n`);
    await ann.expectLine(errorLine('unknown-command'), { what: `"ERR unknown-command ..." for ${quote(line)}` });
  }
  // Lines after /quit, in the same write, are ignored (section 7, item 1): none may reach bob.
  ann.send('/quit\nthis line comes after the quit\n/msg bob and so does this one\n');
  await ann.expectLine('* bye', { what: 'the answer to /quit' });
  await ann.expectClosed({ what: 'the server to close the connection after "* bye", with nothing after it' });
  await bob.expectLine('* ann left', { what: 'the notice that ann left with /quit' });
  bob.send('/users\n');
  await bob.expectLine('* users: bob', { what: 'the answer to /users, and nothing before it: the lines ann sent after /quit must be ignored, not delivered (section 7, item 1)' });

  const nameless = await connect(h, server, 'client that quits before choosing a name');
  nameless.send('/quit\n');
  await nameless.expectLine('* bye', { what: 'the answer to /quit before any name (section 3, item 7)' });
  await nameless.expectClosed({ what: 'the server to close the connection after "* bye"' });
});
