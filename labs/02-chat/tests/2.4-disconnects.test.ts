import lab from '../lab.js';
import { GradeFailure, phase, quote } from '../../../grader/harness/index.js';
import type { Conn } from '../../../grader/harness/index.js';
import { describeExit } from '../../../grader/harness/process.js';
import { LineStream, connect, join, joinAll, unexpected } from './chat.js';

const test = phase(lab, '2.4');

test('a client reset mid-line leaves, and its half line goes nowhere', { points: 4 }, async (h) => {
  const server = await h.start();
  const [ann, bob, cat] = await joinAll(h, server, ['ann', 'bob', 'cat']);
  // The answer to /users shows the server has read this write, half line included. A reset
  // that overtakes data the server has not read yet can look like an ordinary close to it.
  ann.send('/users\nhalf a li');
  await ann.expectLine(/^\* users: /, { what: 'the answer to /users, sent in one write with the start of a line' });
  await ann.reset();
  await bob.expectLine('* ann left', { what: 'the notice that ann left, and nothing before it: her unfinished line is dropped (section 2, item 7)' });
  await cat.expectLine('* ann left', { what: 'the notice that ann left, at cat' });
  bob.send('still here\n');
  await cat.expectLine('bob: still here', { what: 'bob\'s line after ann vanished' });
  const again = await join(h, server, 'ann');
  await bob.expectLine('* ann joined', { what: 'the notice that a new ann joined: the name is free once its owner is gone' });
  again.send('i am back\n');
  await cat.expectLine('* ann joined');
  await cat.expectLine('ann: i am back');
});

test('a client that closes mid-line leaves, and its unfinished line is dropped', { points: 2 }, async (h) => {
  const server = await h.start();
  const [ann, bob] = await joinAll(h, server, ['ann', 'bob']);
  ann.send('complete line\n/users\nno newline here');
  ann.end();
  await bob.expectLine('ann: complete line');
  await bob.expectLine('* ann left', { what: 'the notice that ann left, and nothing before it: a last line with no newline is not a line' });
  // The answer to /users was queued for ann when her FIN came: it is sent before the close.
  await ann.expectLine(/^\* users: /, { what: 'the answer to the /users ann sent just before closing her side: the server sends what is still queued, then closes (section 7, item 2)' });
  await ann.expectClosed({ what: 'the server to close ann\'s connection after she closed her side' });
});

test('many clients vanish at once, some while the server is still writing to them', { points: 4 }, async (h) => {
  const server = await h.start();
  const [ann, bob] = await joinAll(h, server, ['ann', 'bob']);
  const names = Array.from({ length: 12 }, (_, i) => `gone${i}`);
  const doomed: Conn[] = [];
  for (const name of names) {
    doomed.push(await join(h, server, name));
    await ann.expectLine(`* ${name} joined`);
    await bob.expectLine(`* ${name} joined`);
  }
  const nameless = await connect(h, server, 'client with no name');
  // Half of them stop reading, so that lines for them are still on their way when they vanish.
  for (const conn of doomed.slice(0, 6)) conn.socket.pause();
  const burst = Array.from({ length: 2000 }, (_, i) => `burst ${i} ${'.'.repeat(400)}`);
  ann.send(burst.map((line) => `${line}\n`).join(''));
  const stream = new LineStream(bob);
  const first = await stream.line({ what: 'the first line of ann\'s burst of 2000' });
  if (first !== `ann: ${burst[0]}`) throw unexpected(bob, first, `expected the first line of ann's burst`);
  await Promise.all([...doomed, nameless].map((conn) => conn.reset()));

  // bob gets the rest of the burst, in order, and one leave notice for each of the twelve.
  let next = 1;
  const left = new Set<string>();
  while (next < burst.length || left.size < names.length) {
    const what = `the rest of ann's burst (${next} of ${burst.length} lines so far) and the notices that the 12 clients left (${left.size} so far)`;
    for (const line of await stream.lines({ what, timeoutMs: 15_000 })) {
      const gone = /^\* (gone\d+) left$/.exec(line)?.[1];
      if (gone && names.includes(gone) && !left.has(gone)) left.add(gone);
      else if (gone) throw new GradeFailure(`bob got ${quote(line)} twice: each client's leave is announced exactly once (section 7)`);
      else if (line === `ann: ${burst[next]}`) next++;
      else throw unexpected(bob, line, `expected line ${next} of ann's burst, or a notice that one of the 12 clients left`);
    }
  }
  ann.send('after the storm\n');
  const after = await stream.line({ what: 'ann\'s line after the twelve clients vanished' });
  if (after !== 'ann: after the storm') throw unexpected(bob, after, 'expected "ann: after the storm", and nothing more about the clients that left');
  if (server.exit) throw new GradeFailure(`the server stopped after the twelve clients vanished, though it must go on serving everyone else (section 7): ${describeExit(server.exit)}${server.tailText()}`);
});
