import lab from '../lab.js';
import { phase, quote } from '../../../grader/harness/index.js';
import { connect, join, joinAll } from './chat.js';

const test = phase(lab, '2.1');

test('a name, then a line reaches the other client', { points: 4 }, async (h) => {
  const server = await h.start();
  const ann = await join(h, server, 'ann');
  const bob = await join(h, server, 'bob');
  await ann.expectLine('* bob joined', { what: 'the notice that bob joined' });
  ann.send('hello bob\n');
  await bob.expectLine('ann: hello bob', { what: 'ann\'s line, as "ann: hello bob"' });
  bob.send('hi ann\n');
  // If ann had been sent her own line back, it would come before bob's.
  await ann.expectLine('bob: hi ann', { what: 'bob\'s reply, and nothing before it: the server must not send ann her own line back' });
});

test('every other client gets each line, and the sender gets none back', { points: 4 }, async (h) => {
  const server = await h.start();
  const [ann, bob, cat] = await joinAll(h, server, ['ann', 'bob', 'cat']);
  bob.send('one\n');
  await ann.expectLine('bob: one', { what: 'bob\'s first line, at ann' });
  await cat.expectLine('bob: one', { what: 'bob\'s first line, at cat' });
  cat.send('two, with: a colon\n');
  await ann.expectLine('cat: two, with: a colon', { what: 'cat\'s line, at ann' });
  await bob.expectLine('cat: two, with: a colon', { what: 'cat\'s line, and nothing before it: bob must not get his own line back' });
  ann.send('three\n');
  await bob.expectLine('ann: three', { what: 'ann\'s line, at bob' });
  await cat.expectLine('ann: three', { what: 'ann\'s line, and nothing before it: cat must not get her own line back' });
});

test('join and leave notices, and nothing for a client without a name', { points: 5 }, async (h) => {
  const server = await h.start();
  const ann = await join(h, server, 'ann');
  // A client that has not chosen a name is not in the room: it hears nothing (section 3, item 8).
  const nameless = await connect(h, server, 'client with no name yet');
  const bob = await join(h, server, 'bob');
  await ann.expectLine('* bob joined', { what: 'the notice that bob joined' });
  ann.send('anyone there?\n');
  await bob.expectLine('ann: anyone there?');
  bob.end();
  await ann.expectLine('* bob left', { what: 'the notice that bob left, after bob closed his side of the connection' });
  await bob.expectClosed({ what: 'the server to close bob\'s connection after bob closed his side' });

  nameless.send('dan\n');
  await nameless.expectLine('* welcome dan', { what: 'the welcome, with nothing before it: a client without a name must not receive chat lines or notices' });
  await ann.expectLine('* dan joined', { what: 'the notice that dan joined' });

  // A client that leaves without ever choosing a name leaves without a notice.
  const shy = await connect(h, server, 'client that leaves without a name');
  shy.end();
  await shy.expectClosed({ what: 'the server to close the connection of a client that closed its side' });
  nameless.send('still two of us\n');
  await ann.expectLine('dan: still two of us', { what: 'dan\'s line, with nothing before it: a client that never had a name must not be announced as leaving' });
});

test('no line can pass for someone else\'s on a terminal: control characters reach the others as U+FFFD', { points: 2 }, async (h) => {
  const server = await h.start();
  const [ann, bob] = await joinAll(h, server, ['ann', 'bob']);
  // Printed as they are, these would show in bob's terminal as lines from bob, or erase ann's name.
  const lines = [
    ['x\rbob: hi', 'x\ufffdbob: hi'],
    ['\x1b[2K\x1b[1Gbob: my password is hunter2', '\ufffd[2K\ufffd[1Gbob: my password is hunter2'],
    ['back\b\b\b\bbob: a bell\x07, a delete\x7f, a vertical tab\v, NUL\x00, and \u009b2J', 'back\ufffd\ufffd\ufffd\ufffdbob: a bell\ufffd, a delete\ufffd, a vertical tab\ufffd, NUL\ufffd, and \ufffd2J'],
    ['a tab\tis kept, and so are ünïcödé ✓ and spaces  ', 'a tab\tis kept, and so are ünïcödé ✓ and spaces  '],
  ] as const;
  ann.send(lines.map(([sent]) => `${sent}\n`).join(''));
  for (const [sent, shown] of lines) {
    await bob.expectLine(`ann: ${shown}`, { what: `ann's line ${quote(sent)}, with every control character but tab replaced by U+FFFD (section 4, item 5)` });
  }
});
