// Phase 4.3: chat along the tree. A chat goes from server to server along the one path to its
// destination client, each server sending it on the first link towards the destination. The
// grader checks that it arrives once, unchanged, and that no grader link off the path sees it.
// Then the lab's client program: the commands it reads, the lines it prints, how it ends.
import { GradeFailure, phase, quote, type Proc } from '../../../grader/harness/index.js';
import lab from '../lab.js';
import { Code, T, encode, texts, type Msg } from './crc.js';
import { badFlags } from './flags.js';
import { line4, randomTree, random, seed, two } from './topologies.js';
import type { Node } from './model.js';
import { World, type ProgramClient } from './world.js';

const test = phase(lab, '4.3');

test('0 hops: two clients of one server', { points: 1 }, async (h) => {
  const world = new World(h);
  const s1 = await world.startServer(two.servers[0]!);
  await world.graderServer(201, { to: s1 });
  const a = await world.client(101, s1, { mode: 'whole' });
  const b = await world.client(102, s1, { mode: 'bytes' });
  await world.settle('both clients to join');
  a.chat(102, 'hello 102 — ünïcödé ✓ 🚀');
  b.chat(101, 'hello back');
  await world.finish('each chat to reach its client once, and no one else');
});

test('1 hop: clients of neighbouring servers', { points: 3 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(two);
  const [s1, s2] = [servers.get(1)!, servers.get(2)!];
  await world.observers([s1, s2], 201);
  const a = await world.client(101, s1);
  await world.settle('client 101 to join');
  // Registration and first chat in one write: your server must handle both from one read.
  const b = await world.client(102, s2, { mode: 'coalesced', chats: [{ to: 101, text: 'sent with my registration' }] });
  await world.settle('client 102 to join, and its first chat to reach client 101');
  a.chat(102, 'one hop over');
  b.chat(101, 'and back');
  await world.finish('each chat to cross the link once');
});

test('3 hops, through a grader server on the path that must pass the chat on', { points: 4 }, async (h) => {
  const world = new World(h);
  const [one, two_, three] = line4.servers;
  const s1 = await world.startServer(one!);
  const s2 = await world.startServer(two_!, s1);
  // 1 - 2 - G250 - 3: a chat from a client of 1 to a client of 3 crosses three links.
  const middle = await world.graderServer(250, { to: s2, listen: true, behind: [{ id: 3250, kind: 'client' }] });
  const s3 = await world.startServer(three!, middle);
  await world.graderServer(201, { to: s1, mode: 'bytes' });
  await world.graderServer(203, { to: s3, mode: 'coalesced' });
  const a = await world.client(101, s1, { mode: 'coalesced' });
  const b = await world.client(103, s3, { mode: 'bytes' });
  await world.settle('the network and both clients to form');
  a.chat(103, 'three hops east');
  b.chat(101, 'three hops west');
  middle.chat(3250, 101, 'from behind the grader server');
  middle.chat(3250, 103, 'to the other side');
  await world.finish('every chat to arrive once, and to pass the grader server only on its way');
});

test('a random tree: every client reaches every other, exactly once', { points: 5 }, async (h) => {
  const world = new World(h);
  const seedValue = seed();
  const topology = randomTree(seedValue, 7);
  world.remember(`random tree from seed ${seedValue} (run again with SWITCHBOARD_SEED=${seedValue} to get the same tree)`);
  const servers = await world.build(topology);
  const next = random(seedValue + 1);
  const list = [...servers.values()];
  const leaves = list.filter((s) => !topology.servers.some((t) => t.parent === s.id));
  await world.observers(leaves, 201, ['whole', 'ragged', 'bytes']);
  const clients = [];
  for (let i = 0; i < 4; i++) {
    const server = list[Math.floor(next() * list.length)]!;
    clients.push(await world.client(101 + i, server, { mode: (['whole', 'coalesced', 'bytes', 'ragged'] as const)[i % 4] }));
  }
  await world.settle(`the network of ${topology.name} to form`);
  for (const from of clients) for (const to of clients) if (from !== to) from.chat(to.id, `from ${from.id} to ${to.id}`);
  await world.finish('all twelve chats to arrive, once each, and nowhere else');
});

test('a chat or a status whose way leads back where it came from is dropped, never sent back', { points: 1 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(two);
  const [s1, s2] = [servers.get(1)!, servers.get(2)!];
  const grader = await world.graderServer(201, { to: s1, mode: 'coalesced', behind: [{ id: 3001, kind: 'client' }, { id: 3002, kind: 'client' }] });
  await world.client(102, s2);
  await world.settle('the network to form');
  // 3001 and 3002 are both behind the grader's server: server 1 has nowhere to send these but
  // back, and must not (spec section 5). The grader expects them nowhere.
  grader.chat(3001, 3002, 'next door', s1);
  grader.status(3001, 3002, 0x00, 'next door too', s1);
  grader.chat(3001, 102, 'across the network');
  await world.finish('the chat and status for next door to go nowhere, and the chat for 102 to arrive');
});

test("the lab's client program chats across two servers", { points: 2 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(two);
  const [s1, s2] = [servers.get(1)!, servers.get(2)!];
  const alice = await world.program(501, 'alice', s1);
  await lines(alice, ["alice's welcome", 'STATUS 1 0x00 "Welcome to the Clemson Relay Chat network alice"']);
  // Grader servers on both sides, joining after alice: no chat may reach them, the programs'
  // registrations and quits must, once; and alice must not be told of them (they are servers).
  const [west] = await world.observers([s1, s2], 201);
  const bob = await world.program(502, 'bob', s2);
  await lines(bob, ["bob's welcome", 'STATUS 2 0x00 "Welcome to the Clemson Relay Chat network bob"'], ['bob being told of alice', 'CLIENT 501 "alice" "the client program 501"']);
  await lines(alice, ['alice being told of bob', 'CLIENT 502 "bob" "the client program 502"']);
  alice.proc.send('MESSAGE 502 "hi bob ✓"\n');
  await lines(bob, ["alice's chat", 'MESSAGE 501 "hi bob ✓"']);
  world.change(() => world.remove(bob), new Map([[bob as Node, 'bye']]));
  bob.proc.send('QUIT "bye"\n');
  await lines(alice, ["bob's quit", 'QUIT 502 "bye"']);
  await bob.proc.expectExit(0, { what: 'to exit 0 after QUIT' });
  // A status code takes 16 bits: printed with at least two hex digits, all of them (spec section 8.2).
  west!.status(201, 501, 0x1234, 'a code above 0xff', s1);
  await lines(alice, ['a status with the code 0x1234', 'STATUS 201 0x1234 "a code above 0xff"']);
  await world.finish("the programs' registrations and bob's quit to reach the grader servers, and the chat nowhere else");
});

test("the lab's client program: typed commands, printed texts, and how it ends", { points: 1 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(two);
  const [s1, s2] = [servers.get(1)!, servers.get(2)!];
  const carol = await world.client(601, s2);
  // A name with a quote, a backslash and more than ASCII: printed as a JSON string (spec section 8.2).
  const name = 'al"ice\\ ✓';
  const alice = await world.program(501, name, s1);
  await lines(
    alice,
    ["alice's welcome", `STATUS 1 0x00 ${JSON.stringify(`Welcome to the Clemson Relay Chat network ${name}`)}`],
    ['alice being told of carol', `CLIENT 601 "user601" "client 601, played by the grader"`],
  );
  await world.settle("alice's registration to reach carol, name and all");
  // Texts of quotes, backslashes, newlines, tabs, control characters and more than ASCII, both ways.
  const alphabet = ['"', '\\', '\n', '\t', '\u0001', '/', 'é', '✓', '🚀', ' ', 'a', 'Z', '7', '{', "'"];
  const texts = Array.from({ length: 4 }, () => Array.from({ length: h.random.int(1, 24) }, () => h.random.pick(alphabet)).join(''));
  for (const text of texts) carol.chat(501, text);
  await lines(alice, ...texts.map((text): [string, string] => ["carol's chat, printed as a JSON string", `MESSAGE 601 ${JSON.stringify(text)}`]));
  // Typed: JSON strings, an unquoted text (the rest of the line, trimmed), blank lines and a
  // line that is no command (ignored); only the chats reach carol (spec section 8.1).
  const typed: [line: string, text: string | undefined][] = [
    ...texts.map((text): [string, string] => [`MESSAGE 601 ${JSON.stringify(text)}`, text]),
    ['', undefined],
    ['   ', undefined],
    ['HELLO carol', undefined],
    ['MESSAGE 601    hi there,  unquoted   ', 'hi there,  unquoted'],
  ];
  for (const [line, text] of h.random.shuffle(typed)) {
    if (text !== undefined) world.expectChat({ type: T.chat, source: 501, destination: 601, text }, alice, s1);
    alice.proc.send(`${line}\n`);
  }
  await world.settle("carol to receive alice's typed chats, each exactly as typed, and nothing for the other lines");
  // The end of standard input means QUIT "": the quit goes out, and the client exits 0 (spec section 8.3).
  world.change(() => world.remove(alice), new Map([[alice as Node, '']]));
  alice.proc.endInput();
  await alice.proc.expectExit(0, { what: 'to send QUIT "" at the end of its standard input, and exit 0' });
  await world.finish('carol to be told that alice quit, with an empty text');

  // A server that closes the connection first: the client exits with status 1.
  const fake = await h.fakeServer();
  const dave = await h.start('client', { name: 'client 502', params: { id: 502, username: 'dave', info: '', serverport: fake.port } });
  const conn = await fake.accept({ from: dave, what: 'client 502 to connect' });
  await conn.expectBytes(encode({ type: T.clientRegistration, source: 502, lastHop: 0, name: 'dave', info: '' }), { what: "client 502's registration" });
  conn.send(encode({ type: T.status, source: 77, destination: 502, code: Code.welcome, text: 'Welcome to the Clemson Relay Chat network dave' }));
  await dave.expectNextLine('STATUS 77 0x00 "Welcome to the Clemson Relay Chat network dave"', { what: "dave's welcome" });
  conn.end();
  await dave.expectExit(1, { what: 'to exit with status 1 when the server closes the connection first (spec section 8.3)' });
  // Nobody to connect to: status 1, and a message naming the host and the port.
  const nowhere = await h.claimPort('a port nothing listens on');
  const lost = await h.start('client', { name: 'client 503', params: { id: 503, username: 'erin', info: '', serverport: nowhere } });
  await lost.expectExit(1, { what: `to exit with status 1 when nothing listens on port ${nowhere} (spec section 8.3)` });
  const said = lost.stderrLines().join('\n');
  if (!said.includes(String(nowhere)) || !said.includes('127.0.0.1')) {
    throw new GradeFailure(`client 503 could not connect to 127.0.0.1:${nowhere} and exited with status 1, but its standard error does not name the host and the port: it said ${JSON.stringify(said)} (spec section 8.3)`);
  }
  await badFlags(h, 'client', { id: 504, username: 'frank', info: '', serverport: s1.port }, [
    ['id', { id: 0 }],
    ['id', { id: 4_294_967_296 }],
    ['username', { username: 'é'.repeat(128) }],
    ['serverport', { serverport: 65_536 }],
  ]);
});

// The client program against a fake server of the grader's, which can send what no correct
// server would, cut its writes anywhere, stop reading the client's output for a while, and go
// away at any moment. Spec section 8: a line for every message (server registrations and quits
// too), and however the client ends, every message that came before has its line, even when
// whatever reads its standard output is slow; diagnostics on standard error; after QUIT it reads
// on until the server closes; unreadable bytes end it at once, with status 1.
test("the lab's client program: every message printed, however its bytes are cut and however slowly its output is read; how it ends when the server goes away or sends something unreadable", { points: 1 }, async (h) => {
  const fake = await h.fakeServer();
  let next = 700;
  const join = async (what: string) => {
    const id = next++;
    const name = `user${id}`;
    const client = await h.start('client', { name: `client ${id} (${what})`, params: { id, username: name, info: '', serverport: fake.port } });
    const conn = await fake.accept({ from: client, name: `fake server (${what})`, what: `client ${id} to connect` });
    await conn.expectBytes(encode({ type: T.clientRegistration, source: id, lastHop: 0, name, info: '' }), { what: `client ${id}'s registration` });
    conn.send(encode({ type: T.status, source: 77, destination: id, code: Code.welcome, text: texts.welcome(name) }));
    await client.expectNextLine(`STATUS 77 0x00 ${JSON.stringify(texts.welcome(name))}`, { what: `client ${id}'s welcome` });
    return { id, client, conn };
  };
  const q = (text: string) => JSON.stringify(text);
  // Every type of message, server messages included: each has its line (spec section 8.2).
  const every = (i: number, to: number): Msg[] => [
    { type: T.clientRegistration, source: 3000 + i, lastHop: 77, name: `c${i} ✓`, info: 'ï'.repeat(h.random.int(0, 300)) },
    { type: T.chat, source: 3000 + i, destination: to, text: `chat ${i} "quoted" \\ é` },
    { type: T.status, source: 77, destination: to, code: h.random.pick([0x01, 0x04, 0x1ff]), text: `status ${i}` },
    { type: T.serverRegistration, source: 4000 + i, lastHop: 77, name: `s${i}`, info: `server ${i}` },
    { type: T.serverQuit, source: 4000 + i, replacement: 0, text: `server ${i} leaves` },
    { type: T.clientQuit, source: 3000 + i, text: `bye ${i}` },
  ];
  function lineOf(msg: Msg): string {
    switch (msg.type) {
      case T.status:
        return `STATUS ${msg.source} 0x${msg.code.toString(16).padStart(2, '0')} ${q(msg.text)}`;
      case T.clientRegistration:
        return `CLIENT ${msg.source} ${q(msg.name)} ${q(msg.info)}`;
      case T.serverRegistration:
        return `SERVER ${msg.source} ${q(msg.name)} ${q(msg.info)}`;
      case T.chat:
        return `MESSAGE ${msg.source} ${q(msg.text)}`;
      case T.clientQuit:
        return `QUIT ${msg.source} ${q(msg.text)}`;
      case T.serverQuit:
        return `SERVER-QUIT ${msg.source} ${q(msg.text)}`;
    }
  }
  const expectLines = async (client: Proc, lines: string[], what: string) => {
    for (const [i, line] of lines.entries()) {
      await client.expectNextLine(line, { what: `line ${i + 1} of ${lines.length}, ${what}: the line ${quote(line)}` });
    }
  };

  // 1. Messages of every type: one byte per write, then in one write cut at random places.
  const cut = await join('messages cut anywhere');
  const first = every(1, cut.id);
  await cut.conn.sendInPieces(Buffer.concat(first.map(encode)), 1);
  await expectLines(cut.client, first.map(lineOf), 'for messages sent one byte per write (spec sections 3.1 and 8.2)');
  const second = every(2, cut.id);
  const bytes = Buffer.concat(second.map(encode));
  for (let at = 0; at < bytes.length; ) {
    const size = h.random.int(1, 40);
    await cut.conn.sendInPieces(bytes.subarray(at, at + size), size);
    at += size;
  }
  await expectLines(cut.client, second.map(lineOf), 'for messages in writes cut at random places, headers too (spec sections 3.1 and 8.2)');

  // 2. After QUIT it reads on: what arrives before the server closes is printed, even while its
  // output is read slowly, and only the close lets it exit 0 (spec section 8.3).
  cut.client.send('QUIT "done"\n');
  await cut.conn.expectBytes(encode({ type: T.clientQuit, source: cut.id, text: 'done' }), { what: `client ${cut.id}'s quit` });
  await cut.conn.expectClosed({ what: `client ${cut.id} to close its side after its quit (spec section 8.3)` });
  const late = Array.from({ length: 300 }, (_, i): Msg => ({ type: T.clientQuit, source: 5000 + i, text: `after your quit ${i} ${'q'.repeat(900)}` }));
  await cut.client.expectLinesDespiteSlowReader(
    () => {
      cut.conn.send(Buffer.concat(late.map(encode)));
      cut.conn.end();
    },
    late.map(lineOf),
    "the server sent after the client's quit, before it closed the connection (spec section 8.3)",
  );
  await cut.client.expectExit(0, { what: 'to exit 0 once the server closed the connection after its quit (spec section 8.3)' });
  await cut.client.expectNoMoreOutput({ what: 'no line but those of the messages received (diagnostics go to standard error, spec section 8.2)' });

  // 3. A burst, then the server closes first, while the client's output is read slowly: every
  // line printed, and status 1.
  const burst = await join('a burst, then the server closes');
  const many = Array.from({ length: 1_000 }, (_, i): Msg => ({ type: T.chat, source: 3001, destination: burst.id, text: `burst ${String(i + 1).padStart(4, '0')} ${'b'.repeat(990)}` }));
  await burst.client.expectLinesDespiteSlowReader(
    () => {
      burst.conn.send(Buffer.concat(many.map(encode)));
      burst.conn.end();
    },
    many.map(lineOf),
    'the server sent before it closed the connection (spec section 8.3)',
  );
  await burst.client.expectExit(1, { what: 'to exit with status 1 once it has printed every line: the server closed the connection first (spec section 8.3)' });
  await burst.client.expectNoMoreOutput({ what: 'no line but those of the messages received (diagnostics go to standard error, spec section 8.2)' });

  // 4. Something unreadable, on a link the server leaves open: the client prints the messages
  // before it, says so on standard error and exits 1 at once (spec sections 3.7 and 8.3).
  const tooLong = Buffer.alloc(13);
  tooLong.writeUInt8(T.chat, 0);
  tooLong.writeUInt32BE(3001, 1);
  tooLong.writeUInt32BE(1024 * 1024 + 1, 9);
  const badType = h.random.pick([0x03, 0x0f, 0x7f, 0x83, 0xff]);
  const unreadable: [string, Buffer][] = h.random.shuffle([
    [`a byte 0x${badType.toString(16).padStart(2, '0')} that is no message type`, Buffer.from([badType, 0, 0, 0, 1])],
    ['the header of a chat announcing 1048577 bytes of text', tooLong],
  ]);
  for (const [what, bad] of unreadable) {
    const garbled = await join(what);
    const before: Msg = { type: T.chat, source: 3001, destination: garbled.id, text: 'the last readable message' };
    garbled.conn.send(Buffer.concat([encode(before), bad]));
    await garbled.client.expectNextLine(lineOf(before), { what: 'the message before the unreadable bytes' });
    await garbled.client.expectExit(1, { what: `to exit with status 1 at once after ${what}, without waiting for the server to close the connection (spec section 8.3)` });
    await garbled.client.expectNoMoreOutput({ what: 'no line for the unreadable bytes (diagnostics go to standard error, spec section 8.3)' });
    if (garbled.client.stderrLines().length === 0) throw new GradeFailure(`client ${garbled.id} exited after ${what}, but printed no message on standard error (spec section 8.3)`);
  }

  // 5. A reset: status 1, a message on standard error, nothing more on standard output.
  const reset = await join('the server resets');
  const last: Msg = { type: T.chat, source: 3001, destination: reset.id, text: 'just before the reset' };
  reset.conn.send(encode(last));
  await reset.client.expectNextLine(lineOf(last), { what: 'the message before the reset' });
  await reset.conn.reset();
  await reset.client.expectExit(1, { what: 'to exit with status 1 after the server reset the connection (spec section 8.3)' });
  await reset.client.expectNoMoreOutput({ what: 'nothing (diagnostics go to standard error, spec section 8.2)' });
  if (reset.client.stderrLines().length === 0) throw new GradeFailure(`client ${reset.id} exited after the server reset the connection, but printed no message on standard error (spec section 8.3)`);
});

/**
 * The next lines the client program prints must be exactly these, in order: it prints one line per
 * message received (spec section 8.2), so any other line is a message your server should not have
 * sent it.
 */
async function lines(client: ProgramClient, ...expected: [what: string, line: string][]): Promise<void> {
  for (const [what, line] of expected) {
    try {
      await client.proc.expectNextLine(line, { what: `${what}, the line ${quote(line)}` });
    } catch (error) {
      if (!(error instanceof GradeFailure) || !/printed a line where/.test(error.message)) throw error;
      throw new GradeFailure(
        `${error.message}\nThe client prints one line per message it receives (spec section 8.2): the line it printed is a message your server should not have sent it ` +
          '(a server registration, a second copy, a message sent back where it came from), or sent out of order',
      );
    }
  }
}
