// Phase 2.7 splits one line in two, types the bare "/quit" and "/quit see you all", and chat
// lines of plain text. These split lines into many pieces with pauses between them (inside a
// 4-byte character, between the "\r" and the "\n" of a line ending, a line's end together with
// the next one's start), type lines that only look like "/quit" and a "/quit" with spaces after
// it, and a chat line holding control characters (spec/02-chat.md, section 10). A client that
// keeps only the last piece of an unfinished line, takes "/quitter" for a quit, or prints its
// user's line as typed rather than as the others see it, passes 2.7 and loses points here.
import { setTimeout as delay } from 'node:timers/promises';
import { phase, quote } from '../../../grader/harness/index.js';
import type { Conn } from '../../../grader/harness/index.js';
import { startClient } from '../tests/chat.js';
import lab from './lab.js';
import { expectClientDialsHost } from '../../../grader/harness/hosts.js';

const test = phase(lab, '2.10');

/**
 * Sends the pieces one by one with a pause after each. The pauses are a fault (a slow network)
 * that makes each piece a read of its own, not a synchronisation: the test then waits for what
 * the client prints.
 */
async function sendWithPauses(link: Conn, pieces: Buffer[]): Promise<void> {
  for (const piece of pieces) {
    link.send(piece);
    await delay(100);
  }
}

test('lines in many pieces, with pauses between them, are each printed once, whole', { points: 2 }, async (h) => {
  const { client, link } = await startClient(h, 'client');
  const first = Buffer.from('dan: one line in six pieces, 😀 and a CRLF ending\r\n');
  const second = Buffer.from('erin: the start of this line came with the end of the last one\n');
  const emoji = first.indexOf(0xf0);
  const cr = first.indexOf(0x0d);
  // Six reads: "dan: one line", " in six pieces, ", two bytes of the emoji, its other two and
  // more, up to the "\r"; the "\n" with the start of erin's line; the rest of erin's line.
  const both = Buffer.concat([first, second]);
  const cuts = [13, 29, emoji + 2, cr + 1, first.length + 5, both.length];
  const pieces = cuts.map((end, i) => both.subarray(i === 0 ? 0 : cuts[i - 1], end));
  await sendWithPauses(link, pieces);
  await client.expectNextLines(['dan: one line in six pieces, 😀 and a CRLF ending', 'erin: the start of this line came with the end of the last one'], {
    what: 'two lines that arrived in six pieces, each printed once it was complete, whole, without its "\\r\\n" (section 10, item 2)',
  });
  // Three lines in one read, the last one unfinished, then the rest of it in three pieces.
  await sendWithPauses(link, [Buffer.from('fay: one\nfay: two\nfay: thr'), Buffer.from('e'), Buffer.from('e, at '), Buffer.from('last\n')]);
  await client.expectNextLines(['fay: one', 'fay: two', 'fay: three, at last'], { what: 'three lines, the last finished over three more reads' });
  await client.expectNoMoreOutput({ what: 'nothing more: every line printed once' });
});

test('only "/quit" as the first word quits: "/quitter" and "/quit-now" are lines like any other', { points: 2 }, async (h) => {
  const { client, link } = await startClient(h, 'client');
  // The server's command word ends at the first space (section 5). Every line made of a start,
  // a word and an end below is tried, and only those whose first word is exactly "/quit" are
  // quits: not "/quit\t", " /quit", "/QUIT" or "/quitter". The others are sent as typed, and the
  // ones that do not start with "/" are chat lines, printed too.
  const lookalikes: string[] = [];
  for (const start of ['', ' ', '\t']) {
    for (const word of ['/quit', '/Quit', '/QUIT', '/quitter']) {
      for (const end of ['', ' ', '\t', ' now', '\tnow', '-now']) {
        const line = start + word + end;
        if (line.split(' ')[0] !== '/quit') lookalikes.push(line);
      }
    }
  }
  for (const line of lookalikes) {
    client.send(`${line}\n`);
    await link.expectLine(line, { what: `the line ${quote(line)}, sent as typed: its first word is not "/quit" (section 10, item 5)` });
    if (line.startsWith('/')) {
      link.send(`ERR unknown-command no command ${line.split(' ')[0]!.replace(/\t/g, '?')}\n`);
      await client.expectNextLine(/^ERR unknown-command/, { what: `the server's answer to ${quote(line)}, printed: the client goes on` });
    } else {
      await client.expectNextLine(`ann: ${line}`.trimEnd(), { what: `the chat line ${quote(line)}, printed as the others see it: it does not start with "/", so it is no quit (section 10, items 3 and 5)` });
    }
  }
  // "/quit" followed by spaces is a quit; the line typed after it is not sent.
  client.send('/quit   \nnot sent: the user is done\n');
  await link.expectLine(/^\/quit( .*)?$/, { what: 'a /quit, for the line "/quit   " the user typed' });
  link.send('* bye\n');
  link.end();
  await client.expectNextLine('* bye', { what: 'the server\'s last line, printed' });
  await client.expectExit(0, { what: 'to exit with status 0 once the server closed the connection after "/quit   "' });
  await link.expectClosed({ what: 'the client to close the connection with nothing after its /quit: it stops reading its input (section 10, item 5)' });
});

test('the user\'s own chat line is printed as the others see it, control characters replaced', { points: 1 }, async (h) => {
  const { client, link } = await startClient(h, 'client');
  client.send('a bell\x07, a bold \x1b[1mword\x1b[0m, and a tab\there\n');
  await link.expectLine('a bell\x07, a bold \x1b[1mword\x1b[0m, and a tab\there', { what: 'the line as typed: the client sends it as it is' });
  await client.expectNextLine('ann: a bell\ufffd, a bold \ufffd[1mword\ufffd[0m, and a tab\there', {
    what: 'the line printed as the others see it: each control character but tab as U+FFFD (section 10, item 3, and section 4, item 5)',
  });
});

// The client dials the host it is given (spec section 10), not 127.0.0.1 whatever it is told (grader/harness/hosts.ts).
test('the client connects to the host it is given, here another loopback address', { points: 1 }, async (h) => {
  await expectClientDialsHost(h, (fake) => ({ port: fake.port, host: fake.host, name: 'alice' }), '--host');
});
