import lab from '../lab.js';
import { GradeFailure, phase, type FakeServer, type Harness, type Proc } from '../../../grader/harness/index.js';
import { header, maxPayload, message } from '../../03-protocol/tests/wire.js';
import { Peer, T, createAccount, expectGivesUp, login, map, relogin, sendMessage, startServer } from './durable.js';
import { kill9 } from './history.js';

const test = phase(lab, '5.6');

const msg = (from: string, id: bigint, text: string) => map({ from, id, text });

/** The client program connected to a fake server the test plays; `link` is the fake server's end. */
async function clientWithFakeServer(h: Harness): Promise<{ client: Proc; fake: FakeServer; link: Peer }> {
  const fake = await h.fakeServer();
  const client = await h.start('client', { params: { port: fake.port } });
  const conn = await fake.accept({ from: client, what: 'the client to connect' });
  return { client, fake, link: new Peer(conn, h) };
}

/** Types `login bob pw`, answers it, and requires the line printed for it. */
async function loggedInAsBob(client: Proc, link: Peer, waiting = 0): Promise<void> {
  client.send('login bob pw\n');
  await link.expectFrame(T.LOGIN, map({ name: 'bob', password: 'pw' }), 'the LOGIN request for "login bob pw"');
  link.conn.send(message(T.LOGGED_IN, map({ name: 'bob', waiting: BigInt(waiting) })));
  await client.expectNextLine(`logged in as bob, ${waiting} waiting`);
}

/** Waits for the client to connect again, and requires LOGIN as bob, then READ {limit: 100}. */
async function reconnected(h: Harness, client: Proc, fake: FakeServer, n: number): Promise<Peer> {
  const conn = await fake.accept({ from: client, what: `the client to connect again (reconnection ${n}) after the server went away`, timeoutMs: 10_000 });
  const link = new Peer(conn, h);
  await link.expectFrame(T.LOGIN, map({ name: 'bob', password: 'pw' }), 'LOGIN as bob with the same password, the first request on the new connection (spec section 10, rule 2)');
  await link.expectFrame(T.READ, map({ limit: 100n }), 'READ {limit: 100}, right after the LOGIN on the new connection (spec section 10, rule 2)');
  return link;
}

test('when the server goes away, the client connects again, logs in again and shows what waits; a frame over the maximum still ends it with status 1', { points: 3 }, async (h) => {
  const { client, fake, link } = await clientWithFakeServer(h);
  await loggedInAsBob(client, link);
  link.conn.send(message(T.MESSAGE, msg('alice', 5n, 'before the crash')));
  await client.expectNextLine('message 5 from alice: before the crash');
  await link.conn.reset();
  const again = await reconnected(h, client, fake, 1);
  again.conn.send(message(T.LOGGED_IN, map({ name: 'bob', waiting: 1n })));
  again.conn.send(message(T.MESSAGES, map({ messages: [msg('carol', 9n, 'while you were away')], remaining: 0n })));
  await client.expectNextLines(['logged in as bob, 1 waiting', 'message 9 from carol: while you were away', '0 more waiting'], { what: 'the replies to the LOGIN and READ after the reconnection' });
  // It stays usable: a command typed now goes out on the new connection.
  client.send('ping still here\n');
  await again.expectFrame(T.PING, map({ value: 'still here' }), 'the PING typed after the reconnection');
  again.conn.send(message(T.PONG, map({ value: 'still here' })));
  await client.expectNextLine('pong still here');
  // And a second time, with the server closing in an orderly way.
  again.conn.end();
  const third = await reconnected(h, client, fake, 2);
  third.conn.send(message(T.LOGGED_IN, map({ name: 'bob', waiting: 0n })));
  third.conn.send(message(T.MESSAGES, map({ messages: [], remaining: 0n })));
  await client.expectNextLines(['logged in as bob, 0 waiting', '0 more waiting']);
  // A frame over the maximum is not the server going away: lab 3's rule stands (spec/03-protocol.md,
  // section 12, rule 5), a message and exit status 1, even once the client has reconnected.
  third.sendRaw(header(T.MESSAGE, maxPayload + 1), 'a header announcing a MESSAGE over the maximum');
  await client.expectExit(1, { what: 'to print a message and exit with status 1: the server sent a frame over the maximum (spec/03-protocol.md, section 12, rule 5)' });
});

test('a request that got no reply is not sent again; commands typed around the drop go out in order', { points: 2 }, async (h) => {
  const { client, fake, link } = await clientWithFakeServer(h);
  await loggedInAsBob(client, link);
  client.send('send alice lost in the crash\n');
  await link.expectFrame(T.SEND, map({ to: 'alice', text: 'lost in the crash' }), 'the SEND for "send alice lost in the crash"');
  await link.conn.reset();
  // Typed as the connection drops: queued for the new connection, or lost with it; never twice.
  client.send('send alice typed at the drop\n');
  const again = await reconnected(h, client, fake, 1);
  again.conn.send(message(T.LOGGED_IN, map({ name: 'bob', waiting: 0n })));
  again.conn.send(message(T.MESSAGES, map({ messages: [], remaining: 0n })));
  await client.expectNextLines(['logged in as bob, 0 waiting', '0 more waiting']);
  client.send('ping after the drop\n');
  let frame = await again.readFrame('the next request on the new connection');
  if (frame.type === BigInt(T.SEND)) {
    const value = again.decode(frame, 'a SEND');
    const text = value instanceof Map ? value.get('text') : undefined;
    if (text === 'lost in the crash') throw new GradeFailure('the client sent "send alice lost in the crash" again on the new connection; a request in flight when the connection dropped is not sent again: the server may have applied it (spec section 10, rule 3)');
    if (text !== 'typed at the drop') throw new GradeFailure(`after the reconnection the client sent ${again.describe(frame)}; the grader expected the SEND typed at the drop, or the PING`);
    again.conn.send(message(T.SENT, map({ id: 12n })));
    await client.expectNextLine('sent message 12');
    frame = await again.readFrame('the PING typed after the reconnection');
  }
  if (frame.type !== BigInt(T.PING)) throw new GradeFailure(`after the reconnection the client sent ${again.describe(frame)}; the grader expected the PING typed then (or, before it, the SEND typed at the drop)`);
});

test('a message delivered again after a crash is shown once', { points: 2 }, async (h) => {
  const { client, fake, link } = await clientWithFakeServer(h);
  await loggedInAsBob(client, link);
  link.conn.send(message(T.MESSAGE, msg('alice', 21n, 'pushed before the crash')));
  client.send('read\n');
  await link.expectFrame(T.READ, map({ limit: 10n }), 'the READ for "read"');
  link.conn.send(message(T.MESSAGES, map({ messages: [msg('alice', 22n, 'read before the crash')], remaining: 0n })));
  await client.expectNextLines(['message 21 from alice: pushed before the crash', 'message 22 from alice: read before the crash', '0 more waiting']);
  await link.conn.reset();
  const again = await reconnected(h, client, fake, 1);
  // The server lost the records of both deliveries in its crash, so both wait again.
  again.conn.send(message(T.LOGGED_IN, map({ name: 'bob', waiting: 3n })));
  again.conn.send(message(T.MESSAGES, map({ messages: [msg('alice', 21n, 'pushed before the crash'), msg('alice', 22n, 'read before the crash'), msg('carol', 23n, 'new')], remaining: 0n })));
  again.conn.send(message(T.MESSAGE, msg('alice', 22n, 'read before the crash')));
  again.conn.send(message(T.MESSAGE, msg('dave', 24n, 'pushed after')));
  await client.expectNextLines(
    ['logged in as bob, 3 waiting', 'message 23 from carol: new', '0 more waiting', 'message 24 from dave: pushed after'],
    { what: 'the replies after the reconnection, without messages 21 and 22, which were shown before (spec section 10, rule 4)' },
  );
});

test('the client across a kill -9 of your server: every message shown exactly once', { points: 1 }, async (h) => {
  const { server } = await startServer(h);
  const alice = await Peer.connect(h, server, { name: 'alice' });
  await createAccount(alice, 'alice');
  await createAccount(alice, 'bob', 'pw');
  await login(alice, 'alice');
  const client = await h.start('client', { params: { port: server.port } });
  client.send('login bob pw\n');
  await client.expectNextLine('logged in as bob, 0 waiting');
  const ids: bigint[] = [];
  for (let i = 1; i <= 3; i++) {
    ids.push(await sendMessage(alice, 'bob', `before ${i}`));
    await client.expectNextLine(`message ${ids[i - 1]} from alice: before ${i}`);
  }
  await kill9(server);
  await server.restart();
  const alice2 = await relogin(h, server, 'alice', 0);
  // Wait until bob is logged in again: then a message to him is pushed, or queued and read.
  const after = await sendMessage(alice2, 'bob', 'after the crash');
  await client.expectNextLine(/^logged in as bob, \d+ waiting$/, { what: 'the reply to the client\'s LOGIN on its new connection' });
  const lines: string[] = [];
  for (;;) {
    const line = await client.expectNextLine(/^(message \d+ from alice: .*|\d+ more waiting)$/, { what: `the message "after the crash" (id ${after})` });
    lines.push(line);
    if (line === `message ${after} from alice: after the crash`) break;
    if (/^message /.test(line)) throw new GradeFailure(`after the reconnection the client printed ${JSON.stringify(line)} again: it was shown before the crash (spec section 10, rule 4)`);
  }
});

test('while the server is away the client keeps trying for 30 s, then gives up with status 1', { points: 2, timeoutMs: 120_000 }, async (h) => {
  const { client, fake, link } = await clientWithFakeServer(h);
  await loggedInAsBob(client, link);
  // Away for good, every attempt refused as a server that is down refuses it (the port stays the
  // grader's). The client tries for 30 s from the moment it sees the drop, which is after this.
  await fake.away();
  await expectGivesUp(client, Date.now(), 'the server', 'trying to connect', 'spec section 10, rule 1');
});
