// The public tests use a handful of short lowercase names, ASCII chat text, and one sender at a
// time. These use what they do not: names at the edges of the rules (one letter, sixteen,
// capitals, digits, "_" and "-"), names that differ only in case, text that looks like protocol
// lines, a line length counted in multi-byte characters, /msg to oneself and to someone who
// left, and five senders at once with other names. A server that checks names with a loose
// pattern, counts characters instead of bytes, trims text, keys the room case-insensitively, or
// replaces control characters in chat lines only, passes the public phases and loses points
// here (spec sections 2 to 5, 7 and 8). The last test sends /quit with words and more lines
// after it, with "\r\n" endings.
import { GradeFailure, phase, quote } from '../../../grader/harness/index.js';
import { LineStream, connect, errorLine, join, joinAll, unexpected } from '../tests/chat.js';
import lab from './lab.js';

const test = phase(lab, '2.8');

test('names at the edges of the rules, and names that differ only in case', { points: 3 }, async (h) => {
  const server = await h.start();
  const client = await connect(h, server, 'client trying names');
  for (const name of ['-ann', 'ann.b', 'ann\tb', 'é', 'a'.repeat(17), 'ann\rb']) {
    client.send(`${name}\n`);
    await client.expectLine(errorLine('name-invalid'), { what: `"ERR name-invalid ..." for the name ${quote(name)} (section 3, item 3)` });
  }
  client.send('Zed_9-x\n');
  await client.expectLine('* welcome Zed_9-x', { what: 'the welcome for "Zed_9-x": capitals, digits, "_" and "-" are allowed after the first letter' });
  for (const name of ['a', 'Q', 'abcdefghijklmnop', 'ANN', 'Ann', 'ann']) {
    await join(h, server, name);
  }
  client.send('/users\n');
  for (;;) {
    const line = await client.readLine({ what: 'join notices, then the answer to /users' });
    if (/^\* \S+ joined$/.test(line)) continue;
    const names = line.startsWith('* users: ') ? line.slice('* users: '.length).split(' ').sort().join(' ') : undefined;
    const expected = ['Zed_9-x', 'a', 'Q', 'abcdefghijklmnop', 'ANN', 'Ann', 'ann'].sort().join(' ');
    if (names !== expected) throw new GradeFailure(`/users should list the seven names ${expected} (names are case-sensitive: "ann", "Ann" and "ANN" are three), got ${quote(line)}`);
    break;
  }
});

test('line length counts bytes, not characters', { points: 2 }, async (h) => {
  const server = await h.start();
  const [ann, bob] = await joinAll(h, server, ['ann', 'bob']);
  // 341 ticks of 3 bytes and one "x": 1024 bytes, the most a line may hold.
  const fits = `${'✓'.repeat(341)}x`;
  ann.send(`${fits}\n`);
  await bob.expectLine(`ann: ${fits}`, { what: 'a line of 342 characters that is exactly 1024 bytes (section 2, item 4)' });
  // 342 ticks: only 342 characters, but 1026 bytes.
  ann.send(`${'✓'.repeat(342)}\n`);
  await ann.expectLine(errorLine('line-too-long'), { what: '"ERR line-too-long ..." for a line of 342 characters and 1026 bytes: the limit counts bytes' });
});

test('text that looks like protocol and spaces are delivered as they are; control characters nowhere, direct messages and errors included', { points: 2 }, async (h) => {
  const server = await h.start();
  const [ann, bob] = await joinAll(h, server, ['ann', 'bob']);
  const texts = ['* bob left', 'ERR usage', '   three spaces first', 'two spaces after  ', 'a\rb', 'ends with one \r', ': starts with a colon', 'bob (direct): no', 'tab\there'];
  // "ends with one \r" is sent with "\r\r\n": only the last "\r" is the line ending's; the
  // other is part of the line, and reaches bob as U+FFFD like any control character.
  ann.send(texts.map((text) => `${text}${text.endsWith('\r') ? '\r' : ''}\n`).join(''));
  for (const text of texts) {
    const shown = text.replace(/\r/g, '\ufffd');
    await bob.expectLine(`ann: ${shown}`, { what: `ann's line ${quote(text)} delivered exactly, as "ann: " and the text, a "\\r" inside it as U+FFFD (section 4, items 1 and 5)` });
  }
  // A direct message is someone's text too; and an error that quotes a line quotes it harmlessly.
  ann.send('/msg bob \x1b[1A\x1b[2Kcat (direct): lend me your password\n');
  await bob.expectLine('ann (direct): \ufffd[1A\ufffd[2Kcat (direct): lend me your password', { what: 'a direct message holding escape codes, each ESC replaced by U+FFFD (section 4, item 5)' });
  const controls = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;
  for (const line of ['/dance\x1b[2J\rnow', '/msg \x1b[2Jnobody hello']) {
    ann.send(`${line}\n`);
    const answer = await ann.readLine({ what: `the error for ${quote(line)}` });
    if (!/^ERR (unknown-command|no-such-user)( |$)/.test(answer) || controls.test(answer)) {
      throw new GradeFailure(`the answer to ${quote(line)} should be an error line with no control character but tab in it, even where its explanation quotes the line (section 4, item 5, and section 6); got ${quote(answer)}`);
    }
  }
});

test('/msg to oneself and to someone who left; five senders with other names, at once', { points: 2 }, async (h) => {
  const server = await h.start();
  const names = ['Xy', 'q-1', 'LONGNAME_abcdefg', 'm_m', 'Z9'] as const;
  const conns = await joinAll(h, server, names);
  const [first, second] = conns;
  first.send('/msg Xy note to self\n');
  await first.expectLine('Xy (direct): note to self', { what: 'a direct message to oneself, which the spec allows (section 5)' });
  const gone = await join(h, server, 'gone');
  for (const conn of conns) await conn.expectLine('* gone joined');
  gone.end();
  for (const conn of conns) await conn.expectLine('* gone left');
  second.send('/msg gone are you there\n');
  await second.expectLine(errorLine('no-such-user'), { what: '"ERR no-such-user ..." for /msg to a client that has left' });

  // Every sender's lines, interleaved in one go, must reach every other client in that sender's order.
  const count = 200;
  for (let k = 0; k < count; k++) {
    for (const [i, conn] of conns.entries()) conn.send(`${names[i]} says ${k}\n`);
  }
  await Promise.all(
    conns.map(async (conn, me) => {
      const stream = new LineStream(conn);
      const next = names.map(() => 0);
      let got = 0;
      while (got < count * (names.length - 1)) {
        for (const line of await stream.lines({ what: `the lines of the other four senders (${got} of ${count * 4})`, timeoutMs: 15_000 })) {
          const from = names.findIndex((name, i) => i !== me && line === `${name}: ${name} says ${next[i]}`);
          if (from === -1) throw unexpected(conn, line, 'expected the next line of one of the other senders, in that sender\'s order (section 8, item 2)');
          next[from]!++;
          got++;
        }
      }
    }),
  );
});

test('"/quit" with words and lines after it in one write: nothing more in the name of the one who left', { points: 1 }, async (h) => {
  const server = await h.start();
  const [ann, bob] = await joinAll(h, server, ['ann', 'bob']);
  // "\r\n" endings, a /quit with an argument, then a command and a chat line in the same write.
  ann.send('/quit see you all\r\n/users\r\nstill talking after the quit\r\n');
  await ann.expectLine('* bye', { what: 'the answer to "/quit see you all" (the argument text is ignored, section 5)' });
  await ann.expectClosed({ what: 'the close after "* bye", with nothing after it: lines after /quit are ignored, commands included (section 7, item 1)' });
  await bob.expectLine('* ann left', { what: 'the notice that ann left' });
  // The name is free again at once; nothing from the old connection may appear as the new ann's.
  await join(h, server, 'ann');
  await bob.expectLine('* ann joined', { what: 'the notice that a new ann joined, and nothing before it: lines sent after /quit are not delivered' });
  bob.send('/users\n');
  await bob.expectLine(/^\* users: (ann bob|bob ann)$/, { what: 'the answer to /users, and nothing before it' });
});
