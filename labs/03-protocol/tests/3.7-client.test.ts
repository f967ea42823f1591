import lab from '../lab.js';
import { phase } from '../../../grader/harness/index.js';
import type { Proc } from '../../../grader/harness/index.js';
import { type Peer, clientWithFakeServer } from './peer.js';
import { T, frame, map, maxPayload, message, type Value } from './wire.js';

const test = phase(lab, '3.7');

interface Step {
  command: string;
  request: [number, Value];
  reply: [number, Value];
  printed: string[];
}

/** Types each command, requires its request frame byte for byte, replies, and requires the lines printed. */
async function run(client: Proc, link: Peer, steps: Step[]): Promise<void> {
  for (const { command, request, reply, printed } of steps) {
    client.send(`${command}\n`);
    await link.expectFrame(request[0], request[1], `the request for the command "${command}"`);
    link.conn.send(message(reply[0], reply[1], link.wire));
    for (const line of printed) await client.expectNextLine(line, { what: `the line "${line}" printed for the reply to "${command}"` });
  }
}

const msg = (from: string, id: bigint, text: string) => map({ from, id, text });

test('commands become canonical request frames, and replies are printed', { points: 3 }, async (h) => {
  const { client, link } = await clientWithFakeServer(h);
  await run(client, link, [
    { command: 'ping hello there', request: [T.PING, map({ value: 'hello there' })], reply: [T.PONG, map({ value: 'hello there' })], printed: ['pong hello there'] },
    { command: 'create alice s3cret', request: [T.CREATE_ACCOUNT, map({ name: 'alice', password: 's3cret' })], reply: [T.ACCOUNT_CREATED, map({ name: 'alice' })], printed: ['created alice'] },
    { command: 'login alice s3cret', request: [T.LOGIN, map({ name: 'alice', password: 's3cret' })], reply: [T.LOGGED_IN, map({ name: 'alice', waiting: 3n })], printed: ['logged in as alice, 3 waiting'] },
    {
      command: 'read',
      request: [T.READ, map({ limit: 10n })],
      reply: [T.MESSAGES, map({ messages: [msg('bob', 3n, 'hi there'), msg('carol', 5n, 'ünïcödé ✓')], remaining: 1n })],
      printed: ['message 3 from bob: hi there', 'message 5 from carol: ünïcödé ✓', '1 more waiting'],
    },
    { command: 'read 1', request: [T.READ, map({ limit: 1n })], reply: [T.MESSAGES, map({ messages: [msg('bob', 6n, 'last')], remaining: 0n })], printed: ['message 6 from bob: last', '0 more waiting'] },
    { command: 'list', request: [T.LIST_ACCOUNTS, map({ pattern: '*' })], reply: [T.ACCOUNTS, map({ names: ['alice', 'bob', 'carol'] })], printed: ['accounts: alice bob carol'] },
    { command: 'list z*', request: [T.LIST_ACCOUNTS, map({ pattern: 'z*' })], reply: [T.ACCOUNTS, map({ names: [] })], printed: ['accounts: (none)'] },
    { command: 'send bob hello  bob, with two spaces', request: [T.SEND, map({ to: 'bob', text: 'hello  bob, with two spaces' })], reply: [T.SENT, map({ id: 7n })], printed: ['sent message 7'] },
    { command: 'delete 7 3', request: [T.DELETE_MESSAGES, map({ ids: [7n, 3n] })], reply: [T.DELETED, map({ ids: [7n] })], printed: ['deleted: 7'] },
    { command: 'delete 1', request: [T.DELETE_MESSAGES, map({ ids: [1n] })], reply: [T.DELETED, map({ ids: [] })], printed: ['deleted: (none)'] },
    { command: 'logout', request: [T.LOGOUT, map()], reply: [T.LOGGED_OUT, map()], printed: ['logged out'] },
    { command: 'delete-account', request: [T.DELETE_ACCOUNT, map()], reply: [T.ACCOUNT_DELETED, map()], printed: ['account deleted'] },
  ]);
});

test('pushed messages and errors are shown as they arrive; bad commands send nothing', { points: 2 }, async (h) => {
  const { client, link } = await clientWithFakeServer(h);
  // A push with no command before it.
  link.conn.send(message(T.MESSAGE, msg('carol', 9n, 'surprise')));
  await client.expectNextLine('message 9 from carol: surprise', { what: 'the pushed message, shown as it arrives' });
  // A push cut into 7-byte pieces, and two pushes in one write.
  await link.conn.sendInPieces(message(T.MESSAGE, msg('dave', 10n, 'in pieces')), 7);
  await client.expectNextLine('message 10 from dave: in pieces', { what: 'a pushed message that arrived in 7-byte pieces' });
  link.conn.send(Buffer.concat([message(T.MESSAGE, msg('erin', 11n, 'first of two')), message(T.MESSAGE, msg('erin', 12n, 'second of two'))]));
  await client.expectNextLine('message 11 from erin: first of two');
  await client.expectNextLine('message 12 from erin: second of two', { what: 'the second of two pushes that arrived in one read' });
  // An error reply.
  // A "\r\n" line ending is not part of the line (section 12).
  client.send('login alice wrong\r\n');
  await link.expectFrame(T.LOGIN, map({ name: 'alice', password: 'wrong' }), 'the LOGIN request');
  link.conn.send(message(T.ERROR, map({ code: 'login-failed', message: 'wrong name or password' })));
  await client.expectNextLine('error login-failed: wrong name or password', { what: 'the ERROR reply, shown' });
  // Commands that cannot be sent are not: the next frame must be the PING after them.
  // Nor are commands the encoding cannot carry: ints outside int64, a frame over the maximum.
  const bad = ['frobnicate', 'read many', 'delete seven', 'create onlyname', 'send bob', 'read 9223372036854775808', 'delete 1 -9223372036854775809', `ping ${'x'.repeat(maxPayload)}`];
  for (const line of bad) client.send(`${line}\n`);
  client.send('ping after the bad commands\n');
  await link.expectFrame(T.PING, map({ value: 'after the bad commands' }), `the PING typed after ${bad.length} commands that cannot be sent (they must send nothing; section 12, rule 3)`);
  // A frame the client cannot decode is skipped; the client goes on.
  link.conn.send(frame(T.PONG, Buffer.from([0x03, 0x00, 0x00, 0x00, 0x01, 0xff])));
  link.conn.send(message(T.MESSAGE, msg('frank', 13n, 'after the bad frame')));
  await client.expectNextLine('message 13 from frank: after the bad frame', { what: 'a push after a frame the client could not decode' });
});

test('a text cannot print a line of its own: line breaks continue after two spaces, control characters show as U+FFFD', { points: 1 }, async (h) => {
  const { client, link } = await clientWithFakeServer(h);
  // The server delivers texts byte for byte; printed as they are, these would show a line from
  // bob that bob never sent, and rewrite the terminal (section 12, rule 8).
  link.conn.send(message(T.MESSAGE, msg('ann', 7n, 'hi\nmessage 8 from bob: send me your password\r\nbye\rnow\x1b[2K\u009b2J, a tab\tstays')));
  await client.expectNextLines(['message 7 from ann: hi', '  message 8 from bob: send me your password', '  bye\ufffdnow\ufffd[2K\ufffd2J, a tab\tstays'], {
    what: 'a pushed text with line breaks and control characters, printed as a first line and continuation lines (section 12, rule 8)',
  });
  client.send('read\n');
  await link.expectFrame(T.READ, map({ limit: 10n }), 'the READ request');
  link.conn.send(message(T.MESSAGES, map({ messages: [msg('carol', 3n, '\n3 more waiting\x07'), msg('dave', 4n, 'two\r\nlines')], remaining: 0n })));
  await client.expectNextLines(['message 3 from carol:', '  3 more waiting\ufffd', 'message 4 from dave: two', '  lines', '0 more waiting'], {
    what: 'texts of a MESSAGES reply shown by the same rule, so that only the real "0 more waiting" starts a line',
  });
});

test('the client speaks JSON with --wire json', { points: 2 }, async (h) => {
  const { client, link } = await clientWithFakeServer(h, 'json');
  // 2^53 is an int in binary, but not in JSON: not sent.
  client.send('read 9007199254740992\n');
  await run(client, link, [
    { command: 'login bob pw', request: [T.LOGIN, map({ name: 'bob', password: 'pw' })], reply: [T.LOGGED_IN, map({ name: 'bob', waiting: 0n })], printed: ['logged in as bob, 0 waiting'] },
    { command: 'send alice say "hi" \\o/', request: [T.SEND, map({ to: 'alice', text: 'say "hi" \\o/' })], reply: [T.SENT, map({ id: 4n })], printed: ['sent message 4'] },
    { command: 'read 2', request: [T.READ, map({ limit: 2n })], reply: [T.MESSAGES, map({ messages: [msg('alice', 2n, 'ünï ✓')], remaining: 0n })], printed: ['message 2 from alice: ünï ✓', '0 more waiting'] },
  ]);
  link.conn.send(message(T.MESSAGE, msg('carol', 5n, 'pushed in JSON'), 'json'));
  await client.expectNextLine('message 5 from carol: pushed in JSON', { what: 'a message pushed in JSON' });
});

test('quit and the end of input close, print the replies still on their way, and exit 0; a vanished server is an error', { points: 2 }, async (h) => {
  // The fake server answers only once the client has closed its side: replies to requests
  // already sent must still be printed before the client exits (section 12, rule 6).
  for (const ending of ['quit', 'the end of input'] as const) {
    const { client, link } = await clientWithFakeServer(h, 'binary', `client (${ending})`);
    client.send('login ann pw\nread\n');
    if (ending === 'quit') client.send('quit\n');
    else client.endInput();
    await link.expectFrame(T.LOGIN, map({ name: 'ann', password: 'pw' }), 'the LOGIN request');
    await link.expectFrame(T.READ, map({ limit: 10n }), 'the READ request');
    await link.conn.expectClosed({ what: `the client to close its side after ${ending}, sending nothing more` });
    link.conn.send(message(T.LOGGED_IN, map({ name: 'ann', waiting: 1n })));
    link.conn.send(message(T.MESSAGES, map({ messages: [msg('bob', 4n, 'in flight')], remaining: 0n })));
    link.conn.end();
    await client.expectNextLines(['logged in as ann, 1 waiting', 'message 4 from bob: in flight', '0 more waiting'], {
      what: `the replies that arrived after ${ending}, printed before the client exits`,
    });
    await client.expectExit(0, { what: `to exit with status 0 once the server closed its side after ${ending}` });
    await client.expectNoMoreOutput({ what: 'nothing after the replies' });
  }
  const other = await clientWithFakeServer(h, 'binary', 'client (server vanishes)');
  await other.link.conn.reset();
  await other.client.expectExit('nonzero', { what: 'to exit with an error after the server reset the connection' });
});
