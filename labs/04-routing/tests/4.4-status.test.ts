// Phase 4.4: status messages. A registration whose id is taken anywhere on the network is
// refused with status 0x02 and goes no further (passed on by a neighbour, it is dropped); a chat
// to an id no client has gets "Unknown ID X" back; a status travels to its destination like a
// chat; bytes that start no message, a text over 1 MiB and a client's second registration get
// status 0x03, then the link is closed, and what was behind it is forgotten.
import { setTimeout as delay } from 'node:timers/promises';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import lab from '../lab.js';
import { Code, T, encode, texts, type Msg } from './crc.js';
import { line4, two } from './topologies.js';
import { World } from './world.js';

const test = phase(lab, '4.4');

test('a server id already on the network is refused with status 0x02, and goes no further', { points: 2 }, async (h) => {
  const world = new World(h);
  const [one, two_, three] = line4.servers;
  const s1 = await world.startServer(one!);
  const s2 = await world.startServer(two_!, s1);
  const s3 = await world.startServer(three!, s2);
  await world.graderServer(201, { to: s1 });
  await world.client(101, s3);
  await world.settle('the network to form');
  // Server 3 is two hops away from server 1, and server 1 must still know the id is taken.
  await world.graderServer(3, { to: s1, refused: true, mode: 'bytes' });
  await world.settle("server 1 to refuse a second server 3, with status 0x02, and close the link");
  await world.graderServer(1, { to: s1, refused: true });
  await world.graderServer(101, { to: s2, refused: true, mode: 'coalesced' });
  await world.settle('servers with the ids of server 1 itself and of client 101 to be refused too, and nobody told of them');
  await world.graderServer(205, { to: s2 });
  await world.finish('a server with a free id to join after the refusals');
});

test('a registration for a taken id, passed on by a neighbour, is dropped: not recorded, not passed on', { points: 2 }, async (h) => {
  const world = new World(h);
  const [one, two_, three] = line4.servers;
  const s1 = await world.startServer(one!);
  const s2 = await world.startServer(two_!, s1);
  const s3 = await world.startServer(three!, s2);
  const west = await world.graderServer(201, { to: s1, mode: 'ragged', behind: [{ id: 3001, kind: 'client' }] });
  await world.graderServer(203, { to: s3 });
  await world.client(101, s3);
  await world.client(102, s1, { mode: 'bytes' });
  await world.settle('the network to form');
  // Every kind of taken id, near and far, as a server and as a client: servers and clients share
  // one space of ids. As if a second machine with that id had joined behind server 201.
  const wire = west.wireTowards(1, s1);
  const taken = [1, 2, 3, 101, 102, 203, 200];
  for (const id of h.random.shuffle(taken)) {
    for (const type of h.random.shuffle([T.serverRegistration, T.clientRegistration] as const)) {
      world.relayTaken(wire, west, { type, source: id, lastHop: west.id, name: `again-${id}-${type === T.serverRegistration ? 'server' : 'client'}`, info: 'a second machine with a taken id' });
    }
  }
  await world.settle('server 1 to drop every registration for a taken id, and pass none of them on');
  // Their routes are unchanged: the real 101, 102 and 203 are still where they were.
  west.chat(3001, 101, 'to the real 101, three hops east');
  west.chat(3001, 102, 'to the real 102, next door');
  west.status(3001, 203, Code.welcome, 'to the real server 203');
  await world.finish('the chats and the status to reach the real machines with those ids');
});

test('a client id already on the network is refused with status 0x02', { points: 2 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(two);
  const [s1, s2] = [servers.get(1)!, servers.get(2)!];
  await world.graderServer(201, { to: s1 });
  await world.client(101, s1);
  await world.settle('client 101 to join');
  await world.client(101, s2, { refused: true, mode: 'coalesced', name: 'impostor' });
  await world.client(2, s1, { refused: true, mode: 'bytes', name: 'server-id' });
  await world.settle('clients with the id of client 101 and of server 2 to be refused, and nobody told of them');
  await world.client(102, s2);
  await world.finish('a client with a free id to join after the refusals');
});

test('a chat to an unknown id, or to a server, is answered with "Unknown ID X"', { points: 2 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(two);
  const [s1, s2] = [servers.get(1)!, servers.get(2)!];
  const a = await world.client(101, s1);
  const grader = await world.graderServer(202, { to: s2, behind: [{ id: 3001, kind: 'client' }, { id: 3100, kind: 'server' }] });
  await world.settle('the network to form');
  // An id above 2^31, to catch a signed 32-bit read.
  a.chat(4_242_424_242, 'anyone there?');
  // From a client behind the grader's server: the answer must be routed back to it, through 202.
  grader.chat(3001, 77, 'and here?', s2);
  await world.settle('both chats to be answered with status 0x01 "Unknown ID X"');
  // A chat goes only to a client: a server's id, near or far, this server's own included, is
  // undeliverable, and answered by the first server that sees it (spec section 5).
  const serverIds = [1, 2, 200, 202, 3100];
  for (const id of h.random.shuffle(serverIds)) {
    a.chat(id, `to server ${id}?`);
    grader.chat(3001, id, `to server ${id}, from 3001?`, s2);
  }
  await world.finish('every chat to a server to be answered with status 0x01 "Unknown ID X", by the server it entered');
});

test('statuses travel to destinations several hops away', { points: 1 }, async (h) => {
  const world = new World(h);
  const [one, two_, three] = line4.servers;
  const s1 = await world.startServer(one!);
  const s2 = await world.startServer(two_!, s1);
  const s3 = await world.startServer(three!, s2);
  const west = await world.graderServer(201, { to: s1, mode: 'bytes', behind: [{ id: 3001, kind: 'client' }] });
  await world.graderServer(203, { to: s3, behind: [{ id: 3003, kind: 'client' }] });
  await world.client(103, s3, { mode: 'coalesced' });
  await world.settle('the network to form');
  west.status(201, 103, 0x01, 'a status from the west, for client 103');
  west.status(3001, 3003, 0x00, 'from 3001 to 3003, behind another grader server');
  // A status for nobody is dropped: no answer, nothing anywhere.
  west.status(201, 999_999, 0x01, 'for nobody', s1);
  await world.finish('the statuses to arrive unchanged, once, and the one for nobody to vanish');
});

test('bytes that start no message get status 0x03, then the link is closed', { points: 2 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(two);
  const [s1, s2] = [servers.get(1)!, servers.get(2)!];
  await world.client(102, s2);
  const grader = await world.graderServer(201, { to: s1, behind: [{ id: 3001, kind: 'client' }] });
  await world.settle('the network to form');
  const wire = grader.wireTowards(1, s1);
  // Any byte that is not one of the six types, from either half of the byte's range; the text
  // gives it as 0x and two lowercase hex digits (spec section 6.4), so one is below 0x10.
  const types: number[] = Object.values(T);
  const notTypes = Array.from({ length: 256 }, (_, b) => b).filter((b) => !types.includes(b));
  const high = h.random.pick(notTypes.filter((b) => b >= 0x10));
  const low = h.random.pick(notTypes.filter((b) => b < 0x10));
  const hex = (b: number) => `0x${b.toString(16).padStart(2, '0')}`;
  // After a byte of unknown type nothing more can be read: your server must answer and close,
  // and then forget server 201 and client 3001, which it reached through that link.
  world.change(() => world.remove(grader, { withBehind: true }));
  world.expectUnicast({ type: T.status, source: 1, destination: 0, code: Code.protocolError, text: texts.unknownType(high) }, s1, grader, wire);
  wire.sendBytes(Buffer.from([high, 0x00, 0x00, 0x00, 0xc9, 0x42]), `a message of unknown type ${hex(high)}`);
  await world.closedBy(wire, `status 0x03 "Unknown message type ${hex(high)}", then the link closed`);
  await world.settle('everyone to be told that server 201 and client 3001 are gone');

  // The same on a link that never registered, and the server stays up.
  const raw = await h.connect(s2.port, { name: 'unregistered connection' });
  raw.send(Buffer.from([low, 0x01, 0x02]));
  const expected = encode({ type: T.status, source: 2, destination: 0, code: Code.protocolError, text: texts.unknownType(low) });
  await raw.expectBytes(expected, { what: `status 0x03 "Unknown message type ${hex(low)}" from server 2, to destination 0 (the type in two lowercase hex digits, spec section 6.4)` });
  await raw.expectClosed({ what: 'server 2 to close the link after the protocol error' });
  const later = await world.client(103, s2);
  later.chat(102, 'still up?');
  await world.finish('server 2 to go on serving after the bad input');
});

test('a server that cannot join never hangs: it exits with an error, or stays up on its own', { points: 2 }, async (h) => {
  const world = new World(h);
  // The course's servers refuse a taken id with status 0x02 and leave the link open.
  const refusing = await world.graderServer(250, { listen: true, style: 'course', behind: [{ id: 7, kind: 'server' }] });
  await world.startUnjoined({ id: 7, name: 'seven-again' }, refusing, 'refuse');
  // A parent whose answer is not its own registration: a protocol error (spec section 4.1).
  const confused = await world.graderServer(251, { listen: true });
  const notAnAnswer: Msg = { type: T.clientRegistration, source: 3001, lastHop: 0, name: 'not a server', info: '' };
  await world.startUnjoined({ id: 8, name: 'eight' }, confused, [notAnAnswer]);
  await world.finish('the refused server to stop or stay up alone, and the other to answer status 0x03 and close the link');
});

test('a first message that is not a registration, a registration with id 0, and a second one from a client are protocol errors', { points: 1 }, async (h) => {
  const world = new World(h);
  const s1 = await world.startServer(two.servers[0]!);
  await world.graderServer(201, { to: s1 });
  await world.client(101, s1);
  await world.settle('the network to form');
  const error = (text: string) => encode({ type: T.status, source: 1, destination: 0, code: Code.protocolError, text });
  // A chat as the first message, one byte per write, in the name of a client that is on the network.
  const chatter = await h.connect(s1.port, { name: 'a connection that chats first' });
  await chatter.sendInPieces(encode({ type: T.chat, source: 101, destination: 101, text: 'who am I?' }));
  await chatter.expectBytes(error('Expected a registration'), { what: 'status 0x03 "Expected a registration" from server 1, to destination 0' });
  await chatter.expectClosed({ what: 'server 1 to close the link after the protocol error' });
  const nobody = await h.connect(s1.port, { name: 'a client with id 0' });
  nobody.send(encode({ type: T.clientRegistration, source: 0, lastHop: 0, name: 'nobody', info: '' }));
  await nobody.expectBytes(error('Invalid ID 0'), { what: 'status 0x03 "Invalid ID 0" from server 1, to destination 0 (0 is never a machine, spec section 1)' });
  await nobody.expectClosed({ what: 'server 1 to close the link after the protocol error' });
  const later = await world.client(102, s1);
  later.chat(101, 'nobody was told of the others');
  await world.settle('server 1 to go on, having told nobody of either connection');
  // A client registers once: any registration after its first, whatever its type and id, is a
  // protocol error (spec sections 4.1 and 6.4), and the client is gone, network-wide.
  const again: ((id: number) => Msg)[] = [
    (id) => ({ type: T.clientRegistration, source: id, lastHop: 0, name: `user${id}`, info: `client ${id}, played by the grader` }),
    (id) => ({ type: T.clientRegistration, source: id + 3000, lastHop: 0, name: 'another-me', info: 'a new id on the same link' }),
    (id) => ({ type: T.serverRegistration, source: id + 3000, lastHop: 0, name: 'now-a-server', info: 'a server registration on a client link' }),
  ];
  for (const [i, registration] of h.random.shuffle(again).entries()) {
    const client = await world.client(110 + i, s1, { mode: h.random.pick(['whole', 'bytes', 'ragged'] as const) });
    await world.settle(`client ${client.id} to join`);
    world.change(() => world.remove(client));
    world.expectUnicast({ type: T.status, source: 1, destination: 0, code: Code.protocolError, text: 'A client registers only once' }, s1, client, client.wire!);
    const second = registration(client.id) as Msg & { type: 0x00 | 0x80 };
    world.expectNowhere(second, `it is the second registration client ${client.id} sent on its link: a client registers once, and a second registration is a protocol error, answered with status 0x03 and not acted on (spec sections 4.1 and 6.4)`);
    client.wire!.send([second]);
    await world.closedBy(client.wire!, `status 0x03 "A client registers only once" to client ${client.id}, then the link closed`);
  }
  await world.finish('everyone to be told that the clients that registered twice are gone, and of nothing they registered');
});

test('a text of exactly 1 MiB is passed on; a text length above 1 MiB is a protocol error', { points: 1 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(two);
  const [s1, s2] = [servers.get(1)!, servers.get(2)!];
  const a = await world.client(101, s1, { mode: 'coalesced' });
  await world.client(102, s2);
  await world.settle('the network to form');
  // 1048576 bytes in 3-byte characters and one more: the longest text there is (spec section 3.7).
  a.chat(102, '✓'.repeat(349_525) + '!');
  await world.settle('a chat with exactly 1 MiB of text to reach client 102');
  // One byte more, in each type that has a text. The header alone must draw the status: a server
  // must not wait for a megabyte it will refuse.
  const tooLong = 1024 * 1024 + 1;
  const header = (type: number, id: number): Buffer => {
    const fields = type === T.clientQuit ? [id] : type === T.serverQuit ? [id, 0] : [id, 102];
    const head = Buffer.alloc(1 + 4 * fields.length + (type === T.status ? 2 : 0) + 4);
    head.writeUInt8(type, 0);
    fields.forEach((n, i) => head.writeUInt32BE(n, 1 + 4 * i));
    head.writeUInt32BE(tooLong, head.length - 4);
    return head;
  };
  const types = h.random.shuffle([T.chat, T.status, T.clientQuit, T.serverQuit]);
  for (const [i, type] of types.entries()) {
    const server = h.random.pick([s1, s2]);
    const client = await world.client(120 + i, server, { mode: h.random.pick(['whole', 'bytes', 'ragged'] as const) });
    await world.settle(`client ${client.id} to join`);
    world.change(() => world.remove(client));
    world.expectUnicast({ type: T.status, source: server.id, destination: 0, code: Code.protocolError, text: 'Message too long' }, server, client, client.wire!);
    client.wire!.sendBytes(header(type, client.id), `the header of a message of type 0x${type.toString(16).padStart(2, '0')} announcing ${tooLong} bytes of text, and nothing more`);
    await world.closedBy(client.wire!, `status 0x03 "Message too long" to client ${client.id}, then the link closed`);
  }
  await world.finish('everyone to be told that the clients that sent too long a text are gone');
});

test('after a protocol error the server reads on until the link closes: its status is never lost to a reset', { points: 1 }, async (h) => {
  const world = new World(h);
  const s1 = await world.startServer(two.servers[0]!);
  const raw = await h.connect(s1.port, { name: 'a connection that sends garbage' });
  let reset: string | undefined;
  raw.socket.on('error', (e: NodeJS.ErrnoException) => (reset ??= e.code ?? e.message));
  // Half-open: the grader goes on sending after server 1 has closed its side, as a peer may.
  raw.socket.allowHalfOpen = true;
  // A megabyte of garbage, and more right after server 1's FIN: a server that has stopped
  // reading makes its system answer with a reset, which can destroy the status before it is
  // read (spec section 6.4). The grader sends only within 1.5 s of the first byte, well inside
  // the 2 s a server reads on, so that a slow machine cannot make a correct server fail.
  const began = Date.now();
  const garbage = Buffer.alloc(4096, 0x7f);
  const push = () => {
    if (Date.now() - began < 1_500 && raw.socket.writable) raw.socket.write(garbage);
  };
  raw.send(Buffer.alloc(1024 * 1024, 0x7f));
  let pump: NodeJS.Timeout | undefined;
  raw.socket.once('end', () => {
    push();
    pump = setInterval(push, 20);
  });
  try {
    await raw.expectBytes(encode({ type: T.status, source: 1, destination: 0, code: Code.protocolError, text: texts.unknownType(0x7f) }), { what: 'status 0x03 "Unknown message type 0x7f" from server 1' });
    await raw.expectClosed({ what: 'server 1 to close its side after the protocol error' });
    const closedAt = Date.now();
    while (Date.now() - closedAt < 300 && Date.now() - began < 1_500) await delay(20);
  } finally {
    clearInterval(pump);
  }
  if (reset) {
    throw new GradeFailure(`server 1 sent its status and closed its side, but then reset the link (${reset}) while the grader was still sending: after a protocol error a server keeps reading, and drops what it reads, until the other end closes or 2 seconds have passed (spec section 6.4)`);
  }
  raw.end();
  await world.finish('server 1 to stay up');
});
