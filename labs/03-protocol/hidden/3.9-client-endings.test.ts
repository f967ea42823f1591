// Phase 3.7 ends the client with `quit` and with the end of input, two requests in flight,
// their replies sent at once and then the close. These end it the other ways (spec/03-protocol.md,
// section 12, rule 6): with `exit`, over JSON, four requests in flight whose replies come in
// pieces with pauses, and a message the server pushed after the last reply; and at the end of
// input with nothing in flight, a message pushed before the close. A client that exits once every
// request has its reply, rather than when the server closes, or that does not know `exit`, passes
// 3.7 and loses points here.
import { phase } from '../../../grader/harness/index.js';
import { clientWithFakeServer } from '../tests/peer.js';
import { T, map, message } from '../tests/wire.js';
import lab from './lab.js';
import { expectClientDialsHost } from '../../../grader/harness/hosts.js';

const test = phase(lab, '3.9');

const msg = (from: string, id: bigint, text: string) => map({ from, id, text });

test('exit with four requests in flight over JSON: every reply, and a message pushed after them, is printed before the client exits', { points: 3 }, async (h) => {
  const { client, link } = await clientWithFakeServer(h, 'json', 'client (exit)');
  client.send('login ann pw\nlist\nsend bob see you\nread 2\nexit\n');
  await link.expectFrame(T.LOGIN, map({ name: 'ann', password: 'pw' }), 'the LOGIN request');
  await link.expectFrame(T.LIST_ACCOUNTS, map({ pattern: '*' }), 'the LIST_ACCOUNTS request');
  await link.expectFrame(T.SEND, map({ to: 'bob', text: 'see you' }), 'the SEND request');
  await link.expectFrame(T.READ, map({ limit: 2n }), 'the READ request');
  await link.conn.expectClosed({ what: 'the client to close its side after "exit", which is a quit like "quit" (section 12)' });
  // The replies, in pieces of 5 bytes with pauses (a slow network, not a synchronisation).
  const replies = Buffer.concat([
    message(T.LOGGED_IN, map({ name: 'ann', waiting: 1n }), 'json'),
    message(T.ACCOUNTS, map({ names: ['ann', 'bob'] }), 'json'),
    message(T.SENT, map({ id: 12n }), 'json'),
    message(T.MESSAGES, map({ messages: [msg('bob', 11n, 'still there?')], remaining: 0n }), 'json'),
  ]);
  await link.conn.sendInPieces(replies, 5, 2);
  await client.expectNextLines(['logged in as ann, 1 waiting', 'accounts: ann bob', 'sent message 12', 'message 11 from bob: still there?', '0 more waiting'], {
    what: 'the replies to the four requests typed before "exit", printed as they arrive (section 12, rule 6)',
  });
  // The server pushed a message before it read the client's close; it arrives after the replies.
  link.conn.send(message(T.MESSAGE, msg('cat', 13n, 'one more thing'), 'json'));
  link.conn.end();
  await client.expectNextLine('message 13 from cat: one more thing', { what: 'a message pushed after the last reply, before the server closed: the client prints what arrives until the server closes its side (section 12, rule 6)' });
  await client.expectExit(0, { what: 'to exit with status 0 once the server closed its side' });
  await client.expectNoMoreOutput({ what: 'nothing after the pushed message' });
});

test('the end of input with nothing in flight: a message pushed before the server closes is printed', { points: 2 }, async (h) => {
  const { client, link } = await clientWithFakeServer(h, 'binary', 'client (end of input)');
  client.send('login ann pw\n');
  await link.expectFrame(T.LOGIN, map({ name: 'ann', password: 'pw' }), 'the LOGIN request');
  link.conn.send(message(T.LOGGED_IN, map({ name: 'ann', waiting: 0n })));
  await client.expectNextLine('logged in as ann, 0 waiting', { what: 'the reply to the LOGIN' });
  client.endInput();
  await link.conn.expectClosed({ what: 'the client to close its side at the end of its input' });
  link.conn.send(message(T.MESSAGE, msg('bob', 4n, 'bye, ann')));
  link.conn.end();
  await client.expectNextLine('message 4 from bob: bye, ann', { what: 'a message pushed after the client closed its side, before the server closed: nothing was in flight, and it must still be printed (section 12, rule 6)' });
  await client.expectExit(0, { what: 'to exit with status 0 once the server closed its side' });
  await client.expectNoMoreOutput({ what: 'nothing after the pushed message' });
});

// The client dials the host it is given (spec section 12), not 127.0.0.1 whatever it is told (grader/harness/hosts.ts).
test('the client connects to the host it is given, here another loopback address', { points: 1 }, async (h) => {
  await expectClientDialsHost(h, (fake) => ({ port: fake.port, host: fake.host }), '--host');
});
