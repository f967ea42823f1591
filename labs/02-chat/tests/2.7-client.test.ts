import { setTimeout as delay } from 'node:timers/promises';
import lab from '../lab.js';
import { GradeFailure, phase, quote } from '../../../grader/harness/index.js';
import { startClient } from './chat.js';

const test = phase(lab, '2.7');

test('sends its name, and prints what arrives while the user is typing', { points: 4 }, async (h) => {
  const { client, link } = await startClient(h, 'client');
  // The user has typed half a line and not pressed Enter: lines from the server must still show.
  client.send('half-typed');
  link.send('bob: are you there?\n');
  await client.expectNextLine('bob: are you there?', { what: 'a line from the server, printed while the user is still typing one (section 10, item 2)' });
  // A line that arrives in two pieces, cut inside a character, is printed once, whole. The
  // pause between the pieces is a fault (a slow network) that makes them two reads.
  const split = Buffer.from('cat: a line split across two writes, wörld\n');
  const cut = split.indexOf(0xc3) + 1;
  link.send(split.subarray(0, cut));
  await delay(100);
  link.send(split.subarray(cut));
  await client.expectNextLine('cat: a line split across two writes, wörld', { what: 'a line that arrived in two pieces, printed once it was complete, and only then (section 10, item 2)' });
  client.send(', now finished ✓\n');
  await link.expectLine('half-typed, now finished ✓', { what: 'the line the user finished typing' });
  await client.expectNextLine('ann: half-typed, now finished ✓', { what: 'the user\'s own chat line, printed as the others see it: "ann: ..." (section 10, item 3)' });
  client.send('/users\n');
  await link.expectLine('/users', { what: 'the command /users, sent as typed' });
  link.send('* users: ann bob cat\n');
  await client.expectNextLine('* users: ann bob cat', { what: 'the answer to /users, and nothing before it: commands are sent, not printed (section 10, item 3)' });
  // Every typed line is sent; only chat lines (not empty, not starting with "/") are printed.
  // The server's line after each shows whether anything was printed before it that should not be.
  const typed: [line: string, printed?: string][] = [['', undefined], ['   ', 'ann:    '], [' /users', 'ann:  /users'], ['/msg bob hi', undefined], ['/dance', undefined]];
  for (const [i, [line, printed]] of typed.entries()) {
    client.send(`${line}\n`);
    await link.expectLine(line, { what: `the typed line ${quote(line)}, sent as typed (section 10, item 3)` });
    link.send(`* after line ${i}\n`);
    const kind = printed === undefined ? 'not a chat line: it is sent, not printed' : 'a chat line: printed as the others see it';
    // (Standard output is compared without trailing spaces.)
    await client.expectNextLines([...(printed === undefined ? [] : [printed.trimEnd()]), `* after line ${i}`], { what: `what follows the typed line ${quote(line)}, ${kind} (section 10, item 3)` });
  }
});

test('a refused name is an error', { points: 2 }, async (h) => {
  // Any error line before "* welcome ann" refuses the name: with or without the greeting first.
  for (const [greeting, refusal] of [[undefined, 'ERR name-taken someone here is already called ann'], ['* fake chat server: choose a name', 'ERR name-invalid']] as const) {
    const fake = await h.fakeServer();
    const client = await h.start('client', { name: `client (${refusal.split(' ')[1]})`, params: { port: fake.port, name: 'ann' } });
    const link = await fake.accept({ from: client, what: 'the client to connect' });
    if (greeting) link.send(`${greeting}\n`);
    await link.expectLine('ann', { what: 'the name, as the client\'s first line' });
    link.send(`${refusal}\n`);
    const after = greeting ? `, after the greeting "${greeting}"` : '';
    await client.expectExit('nonzero', { what: `to exit with an error: the server refused its name with "${refusal}"${after} (section 10, item 4)` });
    if (!client.stderrLines().some((line) => line.includes(refusal))) {
      throw new GradeFailure(`the client exited, but did not print the server's error line ${quote(refusal)} on standard error; it printed there:\n${client.stderrLines().join('\n') || '(nothing)'}`);
    }
  }
});

test('/quit and the end of input send /quit, and exit 0 once the server closes', { points: 2 }, async (h) => {
  const byQuit = await startClient(h, 'client (quit)');
  byQuit.client.send('/quit\n');
  await byQuit.link.expectLine('/quit', { what: 'the /quit the user typed' });
  byQuit.link.send('* bye\n');
  byQuit.link.end();
  await byQuit.client.expectNextLine('* bye', { what: 'the server\'s last line, which arrived after the /quit (section 10, item 5: print what still arrives)' });
  await byQuit.client.expectExit(0, { what: 'to exit with status 0 once the server closed the connection after /quit' });
  await byQuit.client.expectNoMoreOutput({ what: 'nothing after "* bye"' });
  // One /quit, and nothing after it: closing its input after the user's /quit sends nothing more.
  await byQuit.link.expectClosed({ what: 'the client to close the connection with nothing sent after its one /quit (section 10, item 5)' });

  // "/quit" with words after it is a quit too, as the server reads it (section 10, item 5).
  const withWords = await startClient(h, 'client (quit with words)');
  withWords.client.send('/quit see you all\n');
  await withWords.link.expectLine(/^\/quit( .*)?$/, { what: 'a /quit, for the line "/quit see you all" the user typed' });
  withWords.link.send('* bye\n');
  withWords.link.end();
  await withWords.client.expectExit(0, { what: 'to exit with status 0 once the server closed the connection after "/quit see you all": that line is a quit' });
  await withWords.link.expectClosed({ what: 'the client to close the connection with nothing sent after its one /quit (section 10, item 5)' });

  const byEnd = await startClient(h, 'client (end of input)');
  byEnd.client.endInput();
  await byEnd.link.expectLine('/quit', { what: 'a /quit sent at the end of input (section 10, item 5)' });
  byEnd.link.send('* bye\n');
  byEnd.link.end();
  await byEnd.client.expectNextLine('* bye', { what: 'the server\'s last line, which arrived after the /quit the end of input sent: printed (section 10, item 5)' });
  await byEnd.client.expectExit(0, { what: 'to exit with status 0 once the server closed the connection after the end of input' });
  await byEnd.link.expectClosed({ what: 'the client to close the connection with nothing sent after its one /quit (section 10, item 5)' });
});

test('a server that cannot be reached or goes away is an error', { points: 2 }, async (h) => {
  const nobody = await h.claimPort('a port nothing listens on');
  const lonely = await h.start('client', { name: 'client (no server)', params: { port: nobody, name: 'ann' } });
  await lonely.expectExit('nonzero', { what: 'to exit with an error: nothing listens on its port' });
  if (!lonely.stderrLines().some((line) => line.includes(String(nobody)))) {
    throw new GradeFailure(`the client exited, but its standard error does not name the port ${nobody} it could not reach; it printed:\n${lonely.stderrLines().join('\n') || '(nothing)'}`);
  }

  const reset = await startClient(h, 'client (server resets)');
  await reset.link.reset();
  await reset.client.expectExit('nonzero', { what: 'to exit with an error after the server reset the connection' });
  if (reset.client.stderrLines().length === 0) throw new GradeFailure('the client exited after the server reset the connection, but printed no message on standard error; it must say what happened there (section 10, item 6)');

  const closed = await startClient(h, 'client (server closes)');
  closed.link.send('ERR slow-consumer you were not reading\n');
  closed.link.end();
  await closed.client.expectNextLine(/^ERR slow-consumer/, { what: 'the server\'s last line, printed' });
  await closed.client.expectExit('nonzero', { what: 'to exit with an error: the server closed the connection without a /quit (section 10, item 6)' });

  // A burst of lines, then the close, while whatever reads the client's output is slow: they wait
  // in the client's own memory, and it prints them all before it exits.
  const slow = await startClient(h, 'client (slow output)');
  const burst = Array.from({ length: 1_000 }, (_, i) => `bob: burst ${String(i + 1).padStart(4, '0')} ${'b'.repeat(980)}`);
  const send = () => {
    slow.link.send(burst.map((l) => `${l}\n`).join(''));
    slow.link.end();
  };
  await slow.client.expectLinesDespiteSlowReader(send, burst, 'the server sent before it closed (section 10, items 2 and 6)');
  await slow.client.expectExit('nonzero', { what: 'to exit with an error once it has printed every line: the server closed the connection without a /quit (section 10, item 6)' });
});
