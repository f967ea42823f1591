import lab from '../lab.js';
import { phase } from '../../../grader/harness/index.js';
import { connect, errorLine, joinAll } from './chat.js';

const test = phase(lab, '2.3');

test('a line sent one byte per write arrives once, whole', { points: 4 }, async (h) => {
  const server = await h.start();
  const [ann, bob] = await joinAll(h, server, ['ann', 'bob']);
  // Every character below but the ASCII ones takes 2 to 4 bytes: one byte per write cuts them apart.
  const line = 'héllo, wörld — ✓ 🚀';
  await ann.sendInPieces(`${line}\n`, 1);
  await bob.expectLine(`ann: ${line}`, { what: 'the line ann sent one byte at a time, delivered once and whole (a server that passes on each piece as it comes fails here)' });
  // The name, too, is a line like any other.
  const cat = await connect(h, server, 'cat');
  await cat.sendInPieces('cat\n', 1);
  await cat.expectLine('* welcome cat', { what: 'the welcome for the name "cat" sent one byte at a time' });
  await ann.expectLine('* cat joined');
  await bob.expectLine('* cat joined');
  await cat.sendInPieces('in three pieces\n', 6);
  await ann.expectLine('cat: in three pieces');
  await bob.expectLine('cat: in three pieces');
});

test('many lines in one write are each handled, in order', { points: 4 }, async (h) => {
  const server = await h.start();
  const [ann, bob] = await joinAll(h, server, ['ann', 'bob']);
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i + 1} of 100`);
  ann.send(lines.map((line) => `${line}\n`).join(''));
  for (const line of lines) await bob.expectLine(`ann: ${line}`, { what: `"ann: ${line}", from one write of 100 lines, in order` });
  // A name and the first lines together, in one write.
  const cat = await connect(h, server, 'cat');
  cat.send('cat\nfirst\nsecond\n');
  await cat.expectLine('* welcome cat', { what: 'the welcome for the name sent in one write with two chat lines' });
  for (const other of [ann, bob]) {
    await other.expectLine('* cat joined', { what: `at ${other.name}, the join notice before any line from cat` });
    await other.expectLine('cat: first');
    await other.expectLine('cat: second');
  }
});

test('"\\r\\n" line endings work, and empty lines are ignored', { points: 3 }, async (h) => {
  const server = await h.start();
  const [ann] = await joinAll(h, server, ['ann']);
  const dan = await connect(h, server, 'dan (ending lines with \\r\\n)');
  dan.send('dan\r\n');
  await dan.expectLine('* welcome dan', { what: 'the welcome for "dan\\r\\n": the "\\r" is not part of the name (section 2, item 2)' });
  await ann.expectLine('* dan joined');
  dan.send('hi there\r\n');
  await ann.expectLine('dan: hi there', { what: '"dan: hi there" with no "\\r" at the end' });
  dan.send('/users\r\n');
  await dan.expectLine(/^\* users: (ann dan|dan ann)$/, { what: 'the answer to "/users\\r\\n"' });
  // Empty lines, with and without "\r", do nothing at all.
  dan.send('\n\r\n\n');
  dan.send('after the blanks\r\n');
  await ann.expectLine('dan: after the blanks', { what: 'dan\'s next line, and nothing before it: empty lines are ignored (section 2, item 6)' });
});

test('an over-long line gets ERR line-too-long at once and is dropped; the connection goes on', { points: 4 }, async (h) => {
  const server = await h.start();
  const [ann, bob] = await joinAll(h, server, ['ann', 'bob']);
  const longest = 'x'.repeat(1024);
  ann.send(`${longest}\n`);
  await bob.expectLine(`ann: ${longest}`, { what: 'a line of exactly 1024 bytes, the longest allowed (section 2, item 4)' });
  ann.send(`${'y'.repeat(1025)}\n`);
  await ann.expectLine(errorLine('line-too-long'), { what: '"ERR line-too-long ..." for a line of 1025 bytes' });
  ann.send('short again\n');
  await bob.expectLine('ann: short again', { what: 'ann\'s next line, and nothing before it: the over-long line is dropped, not delivered' });
  // No newline yet: the server knows the line is too long and must say so without waiting for the end.
  ann.send('z'.repeat(5000));
  await ann.expectLine(errorLine('line-too-long'), { what: '"ERR line-too-long ..." after 5000 bytes with no newline, before the line ends (section 2, item 5)' });
  ann.send(`${'z'.repeat(3000)}\nback to normal\n/users\n`);
  await bob.expectLine('ann: back to normal', { what: 'the line after the over-long one: the rest of that line, up to its newline, is dropped' });
  await ann.expectLine(/^\* users: /, { what: 'the answer to /users, and nothing before it: one over-long line gets one error' });
});
