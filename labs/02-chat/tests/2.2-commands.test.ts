import lab from '../lab.js';
import { GradeFailure, phase, quote } from '../../../grader/harness/index.js';
import type { Conn } from '../../../grader/harness/index.js';
import { connect, errorLine, join, joinAll, linesUntil } from './chat.js';

const test = phase(lab, '2.2');

/**
 * Sends `command` (/users, with or without argument text) and checks the reply lists exactly
 * `names`, in any order (section 5).
 */
async function expectUsers(conn: Conn, names: string[], what: string, command = '/users'): Promise<void> {
  conn.send(`${command}\n`);
  const line = await conn.expectLine(/^\* users: /, { what: `the answer to ${quote(command)}: "* users: " and the names of ${what} (the argument text is ignored)` });
  const got = line.slice('* users: '.length).split(' ');
  if ([...got].sort().join(' ') !== [...names].sort().join(' ')) {
    throw new GradeFailure(`${conn.name} sent ${quote(command)} and expected the names ${names.join(', ')} (in any order, separated by single spaces), got ${quote(line)}`);
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
  // The command word ends at the first space; what follows is argument text, ignored here.
  await expectUsers(ann, ['ann', 'bob'], 'ann and bob, after cat left', '/users and who else?');
  await bob.expectLine('* cat left');
  await expectUsers(bob, ['ann', 'bob'], 'ann and bob', '/users ');
});

test('/help answers with one or more lines starting with "* "', { points: 2 }, async (h) => {
  const server = await h.start();
  const ann = await join(h, server, 'ann');
  // The argument text of /help is ignored, as that of /users: both lines get the help.
  for (const command of ['/help', '/help me please']) {
    ann.send(`${command}\n/users\n`);
    const help = await linesUntil(ann, /^\* users: ann$/, `the lines answering ${quote(command)}, then "* users: ann" for the /users sent after it`);
    if (help.length === 0) throw new GradeFailure(`${quote(command)} was answered with no lines at all; expected one or more lines starting with "* " (section 5)`);
    const odd = help.find((line) => !line.startsWith('* '));
    if (odd !== undefined) throw new GradeFailure(`every line answering ${quote(command)} must start with "* " (section 5: the argument text of /help is ignored), got ${quote(odd)}`);
  }
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
  // NAME is the argument text up to its first space, TEXT all the rest, spaces included: each
  // line below is split exactly there, or not at all (section 5).
  const cases: [line: string, to: Conn | 'usage' | 'no-such-user', shown?: string][] = [
    ['/msg bob', 'usage'],
    ['/msg', 'usage'],
    ['/msg bob ', 'usage'],
    ['/msg  bob hi', 'usage'],
    ['/msg bob   three spaces first', bob, 'ann (direct):   three spaces first'],
    ['/msg cat two spaces after  ', cat, 'ann (direct): two spaces after  '],
    ['/msg bob  ', bob, 'ann (direct):  '],
    ['/msg bob\thi', 'usage'],
    ['/msg bob\thi there', 'no-such-user'],
    ['/msg Bob hi', 'no-such-user'],
  ];
  for (const [line, to, shown] of cases) {
    ann.send(`${line}\n`);
    if (to === 'usage') await ann.expectLine(errorLine('usage'), { what: `"ERR usage ..." for ${quote(line)}: its NAME or its TEXT is empty (NAME ends at the first space, and only there)` });
    else if (to === 'no-such-user') await ann.expectLine(errorLine('no-such-user'), { what: `"ERR no-such-user ..." for ${quote(line)}: its NAME is everything up to the first space, and names are case-sensitive` });
    else await to.expectLine(shown!, { what: `the direct message ${quote(line)}: TEXT is everything after the space that ends NAME, spaces included` });
  }
  ann.send('public again\n');
  for (const other of [bob, cat]) await other.expectLine('ann: public again', { what: 'ann\'s public line, and nothing before it: no other /msg reached anyone' });
});

test('unknown commands are errors; /quit says bye and closes', { points: 3 }, async (h) => {
  const server = await h.start();
  const [ann, bob] = await joinAll(h, server, ['ann', 'bob']);
  // The command word is the line up to its first space, a tab or a letter more included.
  for (const line of ['/dance', '/USERS', '/users2', '/users\tall', '/', '/msgbob hi']) {
    ann.send(`${line}\n`);
    await ann.expectLine(errorLine('unknown-command'), { what: `"ERR unknown-command ..." for ${quote(line)}: its command word, the line up to its first space, is none of the four (section 5)` });
  }
  // A line that does not start with "/" is a chat line, however much it looks like a command.
  ann.send(' /users\n');
  await bob.expectLine('ann:  /users', { what: 'ann\'s chat line " /users": a line that does not start with "/" is no command (section 4, item 1)' });
  // Lines after /quit, in the same write, are ignored (section 7, item 1): none may reach bob.
  // The answer to the /users before it is sent all the same, before "* bye".
  ann.send('/users\n/quit\nthis line comes after the quit\n/msg bob and so does this one\n');
  await ann.expectLine('* users: ann bob', { what: 'the answer to the /users sent in one write with /quit: what is queued for a client is sent before the close (section 7, item 1)' });
  await ann.expectLine('* bye', { what: 'the answer to /quit' });
  await ann.expectClosed({ what: 'the server to close the connection after "* bye", with nothing after it' });
  await bob.expectLine('* ann left', { what: 'the notice that ann left with /quit' });
  bob.send('/users\n');
  await bob.expectLine('* users: bob', { what: 'the answer to /users, and nothing before it: the lines ann sent after /quit must be ignored, not delivered (section 7, item 1)' });

  // Before a name, "/quit" and "/quit ..." quit; every other line is a name (section 3, item 7).
  for (const quit of ['/quit', '/quit see you', '/quit ']) {
    const nameless = await connect(h, server, `client that quits with ${quote(quit)} before choosing a name`);
    if (quit === '/quit') {
      for (const line of ['/quitnow', '/quit\tnow']) {
        nameless.send(`${line}\n`);
        await nameless.expectLine(errorLine('name-invalid'), { what: `"ERR name-invalid ..." for ${quote(line)} before any name: it is no /quit, so it is taken as a name (section 3, item 7)` });
      }
    }
    nameless.send(`${quit}\n`);
    await nameless.expectLine('* bye', { what: `the answer to ${quote(quit)} before any name (section 3, item 7)` });
    await nameless.expectClosed({ what: 'the server to close the connection after "* bye"' });
  }
});
