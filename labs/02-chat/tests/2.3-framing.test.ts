import lab from '../lab.js';
import { phase } from '../../../grader/harness/index.js';
import { connect, errorLine, joinAll } from './chat.js';

const test = phase(lab, '2.3');

test('a line sent one byte per write arrives once, whole', { points: 3 }, async (h) => {
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

test('many lines in one write are each handled, in order', { points: 3 }, async (h) => {
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
  // Empty lines are ignored before a name too, and between two tries at one (section 2, item 6).
  dan.send('\n\r\ndan!\r\n');
  await dan.expectLine(errorLine('name-invalid'), { what: '"ERR name-invalid ..." for "dan!", and nothing before it: the empty lines before it are not names (section 2, item 6)' });
  dan.send('\r\n\n\r\ndan\r\n');
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

test('an over-long line gets ERR line-too-long at once and is dropped; the connection goes on', { points: 3 }, async (h) => {
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

test('the limit counts every byte of the line as sent, its "\\r" included, however the line arrives', { points: 3 }, async (h) => {
  const server = await h.start();
  const [ann, bob] = await joinAll(h, server, ['ann', 'bob']);
  // Lines just under, at and over 1024 bytes, of characters of 1 to 4 bytes, ending in "\n" or
  // "\r\n", each sent in pieces of 100 to 700 bytes with pauses between them (a slow network, so
  // that no read holds a whole over-long line). The seed picks the first character and the cuts.
  const chars = ['x', 'é', '✓', '🚀'];
  const first = h.random.int(0, chars.length);
  const cases: { text: string; ending: string }[] = [];
  for (const bytes of [1023, 1024, 1025, 1500]) {
    for (const ending of ['\n', '\r\n']) {
      // Each character in turn: every four cases, over the limit too, use all four.
      const char = chars[(first + cases.length) % chars.length]!;
      cases.push({ text: lineOfBytes(`${cases.length} `, bytes, char), ending });
    }
  }
  for (const { text, ending } of cases) {
    const sent = Buffer.from(`${text}${ending}`);
    // The line's bytes are everything before the "\n": a "\r" counts (section 2, item 4).
    const length = sent.length - 1;
    const pieces: Buffer[] = [];
    for (let at = 0; at < sent.length; ) {
      const end = Math.min(sent.length, at + h.random.int(100, 700));
      pieces.push(sent.subarray(at, end));
      at = end;
    }
    for (const piece of pieces) await ann.sendInPieces(piece, piece.length, 10);
    const what = `a line of ${length} bytes (${Buffer.byteLength(text)} of text${ending === '\r\n' ? ' and the "\\r"' : ''}) sent in ${pieces.length} pieces`;
    if (length > 1024) await ann.expectLine(errorLine('line-too-long'), { what: `"ERR line-too-long ..." for ${what}: more than 1024 bytes (section 2, items 4 and 5)` });
    else await bob.expectLine(`ann: ${text}`, { what: `${what}, delivered whole: at most 1024 bytes is allowed (section 2, item 4)` });
  }
  ann.send('short again\n/users\n');
  await bob.expectLine('ann: short again', { what: 'ann\'s next line, and nothing before it: no over-long line is delivered' });
  await ann.expectLine(/^\* users: /, { what: 'the answer to /users, and nothing before it: one over-long line gets one error' });
});

/** `prefix`, then `char` as often as it fits, then "x"s: exactly `bytes` bytes of UTF-8. */
function lineOfBytes(prefix: string, bytes: number, char: string): string {
  const room = bytes - Buffer.byteLength(prefix);
  const chars = Math.floor(room / Buffer.byteLength(char));
  return prefix + char.repeat(chars) + 'x'.repeat(room - chars * Buffer.byteLength(char));
}
