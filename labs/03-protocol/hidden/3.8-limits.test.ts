// Instructor-only: the edges the public tests stay clear of. A server tuned to pass the public
// tests can still be off by one at the maximum frame size, recurse without bound into nested
// values, reject keys it does not know or maps in another order, match wildcards by backtracking,
// or build a READ reply too big to send.
import lab from './lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import type { Harness, Proc } from '../../../grader/harness/index.js';
import { Peer, createAccount, login, sendMessage, stillRunning, user } from '../tests/peer.js';
import { T, encodeValue, frame, map, mapOf, maxPayload, message, show, type Value, type Wire } from '../tests/wire.js';

const test = phase(lab, '3.8');

test('a payload of exactly the maximum is served, and errors about big payloads fit in a frame', { points: 3 }, async (h) => {
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  // {value: "xxx..."}: 5 bytes of map header, 10 of key, 5 of string header, then the text.
  const value = 'x'.repeat(maxPayload - 20);
  const request = message(T.PING, map({ value }));
  if (request.length !== 12 + maxPayload) throw new Error(`the grader built a ${request.length}-byte frame`);
  peer.sendRaw(request, `a PING whose payload is exactly ${maxPayload} bytes, the maximum`);
  await peer.expectReply(T.PONG, map({ value }), `the PONG for a payload of exactly ${maxPayload} bytes (allowed: only more is too large)`, { timeoutMs: 15_000 });
  // An error message that quotes the client's string in full would not fit in a frame.
  await createAccount(peer, 'alice');
  await login(peer, 'alice');
  const to = 'z'.repeat(maxPayload - 40);
  peer.send(T.SEND, map({ to, text: '' }));
  const said = await peer.expectError('no-such-account', 'an ERROR "no-such-account" for a recipient named by a 1 MiB string, in a frame within the maximum', { timeoutMs: 15_000 });
  if (Buffer.byteLength(said) > 1024) throw new GradeFailure(`the ERROR's message is ${Buffer.byteLength(said)} bytes; it may hold at most 1024, so a quote of the request must be cut (section 5.11)`);
  const key = 'k'.repeat(maxPayload / 2 - 20);
  peer.sendRaw(frame(T.PING, Buffer.concat([Buffer.from('0300000002', 'hex'), encodeValue(key), encodeValue(1n), encodeValue(key), encodeValue(2n)])), 'a PING whose map holds a 512 KiB key twice');
  await peer.expectError('bad-payload', 'an ERROR "bad-payload" for a repeated 512 KiB key, in a frame within the maximum', { timeoutMs: 15_000 });
  await peer.ping();
});

test('nesting is bounded, and wildcards do not backtrack', { points: 2 }, async (h) => {
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  // The payload map is level 1; lists nested n deep inside it reach level n + 1.
  const nested = (n: number) => Buffer.concat([...Array.from({ length: n - 1 }, () => Buffer.from('0200000001', 'hex')), Buffer.from('0200000000', 'hex')]);
  const ping = (inner: Buffer) => Buffer.concat([Buffer.from('0300000001', 'hex'), encodeValue('value'), inner]);
  let deepest: Value = [];
  for (let i = 1; i < 63; i++) deepest = [deepest];
  peer.sendRaw(frame(T.PING, ping(nested(63))), 'a PING whose value is lists nested 63 deep: 64 levels with the payload map, the most allowed');
  await peer.expectReply(T.PONG, map({ value: deepest }), 'the PONG for values nested exactly 64 levels deep');
  peer.sendRaw(frame(T.PING, ping(nested(64))), 'a PING nested 65 levels deep');
  await peer.expectError('bad-payload', 'an ERROR "bad-payload" for values nested 65 levels deep');
  // Lists and maps mixed at seeded random, exactly 64 levels and one more: every value that nests counts.
  for (let i = 0; i < 4; i++) {
    const kinds = Array.from({ length: 63 }, () => h.random.pick(['list', 'map'] as const));
    await edges(peer, kinds, h.random.pick(['list', 'map'] as const));
  }
  // 200,000 levels in 1 MB: a decoder that recurses without a bound overflows its stack.
  peer.sendRaw(frame(T.PING, ping(nested(200_000))), 'a PING nested 200,000 levels deep (1 MB)');
  await peer.expectError('bad-payload', 'an ERROR "bad-payload" for values nested 200,000 levels deep', { timeoutMs: 10_000 });
  await peer.ping();

  const jsonServer = await h.start('server', { name: 'JSON server', params: { wire: 'json' } });
  const jsonPeer = await Peer.connect(h, jsonServer, { name: 'JSON client', wire: 'json' });
  for (let i = 0; i < 3; i++) await edges(jsonPeer, Array.from({ length: 63 }, () => h.random.pick(['list', 'map'] as const)), h.random.pick(['list', 'map'] as const));
  jsonPeer.sendRaw(frame(T.PING, Buffer.from(`{"value":${'['.repeat(200_000)}${']'.repeat(200_000)}}`)), 'a JSON PING nested 200,000 levels deep');
  await jsonPeer.expectError('bad-payload', 'an ERROR "bad-payload" for JSON nested 200,000 levels deep', { timeoutMs: 10_000 });
  await jsonPeer.ping();

  // `*a*a*...*b` against names of 31 a's: a backtracking matcher tries about 10^8 ways per name.
  for (let i = 0; i < 5; i++) await createAccount(peer, `${'a'.repeat(31)}${i}`);
  await login(peer, `${'a'.repeat(31)}0`);
  const pattern = `${'*a'.repeat(15)}*b`;
  peer.send(T.LIST_ACCOUNTS, map({ pattern }));
  await peer.expectReply(T.ACCOUNTS, map({ names: [] }), `ACCOUNTS [] for the pattern "${pattern}", promptly: matching must not backtrack exponentially`, { timeoutMs: 10_000 });
  stillRunning(server);
  stillRunning(jsonServer);
});

/** Containers of these kinds, each inside the one before, the innermost empty. */
function nest(kinds: ('list' | 'map')[]): Value {
  let value: Value | undefined;
  for (const kind of [...kinds].reverse()) {
    const inner: Value[] = value === undefined ? [] : [value];
    value = kind === 'list' ? inner : mapOf(inner.map((v) => ['k', v]));
  }
  return value!;
}

/** In a PING (its payload map is level 1), `kinds` reach level 64, which is served; one more container is refused. */
async function edges(peer: Peer, kinds: ('list' | 'map')[], extra: 'list' | 'map'): Promise<void> {
  const shape = (k: ('list' | 'map')[]) => k.map((kind) => (kind === 'list' ? '[' : '{')).join('');
  const value = nest(kinds);
  peer.send(T.PING, map({ value }));
  await peer.expectReply(T.PONG, map({ value }), `the PONG for lists and maps nested exactly 64 levels deep (${peer.wire}): ${shape(kinds)}`);
  peer.send(T.PING, map({ value: nest([...kinds, extra]) }));
  await peer.expectError('bad-payload', `an ERROR "bad-payload" for lists and maps nested 65 levels deep (${peer.wire}): ${shape([...kinds, extra])}`);
}

test('a tolerant reader: keys in any order, unknown keys ignored, limits exact', { points: 2 }, async (h) => {
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  const unsorted = mapOf([['zzz', 1n], ['value', mapOf([['b', 1n], ['a', 2n]])], ['aaa', 'unknown']]);
  peer.sendRaw(frame(T.PING, encodeValue(unsorted, { sortKeys: false })), `a PING whose maps are not in canonical order, with unknown keys: ${show(unsorted)}`);
  await peer.expectReply(T.PONG, map({ value: map({ a: 2n, b: 1n }) }), 'the PONG with its value in canonical order');
  const create = mapOf([['password', 'pw-bob'], ['name', 'bob'], ['email', 'bob@example.org']]);
  peer.sendRaw(frame(T.CREATE_ACCOUNT, encodeValue(create, { sortKeys: false })), `a CREATE_ACCOUNT with keys in reverse order and an unknown key: ${show(create)}`);
  await peer.expectReply(T.ACCOUNT_CREATED, map({ name: 'bob' }), 'ACCOUNT_CREATED: an unknown key is ignored, not refused');
  await login(peer, 'bob');
  const alice = await user(h, server, 'alice');
  // 65,536 bytes exactly: the longest text allowed, in multi-byte characters (bytes are counted, not characters).
  const text = 'é'.repeat(32_768);
  const id = await sendMessage(alice, 'bob', text);
  await peer.expectPush({ from: 'alice', id, text }, 'the MESSAGE with a text of exactly 65,536 bytes');
});

test('a READ reply never exceeds the maximum frame', { points: 2 }, async (h) => {
  for (const wire of ['binary', 'json'] as Wire[]) await readsFit(h, wire);
});

/** Large messages waiting, more than one frame holds; READs with a generous limit must each fit, and lose nothing. */
async function readsFit(h: Harness, wire: Wire): Promise<void> {
  const server: Proc = await h.start('server', { name: `${wire} server`, params: wire === 'json' ? { wire } : {} });
  const alice = await user(h, server, 'alice', wire);
  await createAccount(alice, 'bob');
  // In JSON each U+0001 is written as the 6 characters \u0001: 60,000 of them take 360,000 bytes.
  const body = wire === 'json' ? '\u0001'.repeat(60_000) : 'x'.repeat(60_000);
  const n = wire === 'json' ? 8 : 24;
  const sent: bigint[] = [];
  for (let i = 0; i < n; i++) sent.push(await sendMessage(alice, 'bob', `${i}:${body}`));
  const bob = await Peer.connect(h, server, { name: 'bob', wire });
  await login(bob, 'bob', n);
  const got: bigint[] = [];
  for (let reads = 1; ; reads++) {
    if (reads > n) throw new GradeFailure(`bob made ${n} READs and still had messages waiting; ${got.length} of ${n} arrived`);
    // Peer.readFrame fails if the reply announces more than the maximum payload.
    const reply = await bob.call(T.READ, map({ limit: 100n }), T.MESSAGES, `a MESSAGES reply (${wire}) that fits in one frame`);
    const messages = reply.get('messages');
    const remaining = reply.get('remaining');
    if (!Array.isArray(messages) || typeof remaining !== 'bigint') throw new GradeFailure(`bob got MESSAGES ${show(reply)}`);
    if (messages.length === 0 && remaining > 0n) throw new GradeFailure(`bob got no messages with ${remaining} remaining: a READ returns at least one when any is waiting`);
    for (const m of messages) {
      const id = m instanceof Map ? m.get('id') : undefined;
      if (typeof id !== 'bigint') throw new GradeFailure(`a message in MESSAGES has no int id: ${show(m)}`);
      got.push(id);
    }
    if (BigInt(n - got.length) !== remaining) throw new GradeFailure(`bob has read ${got.length} of ${n} messages, and the reply says ${remaining} remain`);
    if (remaining === 0n) break;
  }
  if (got.join() !== sent.join()) throw new GradeFailure(`bob read the ids ${got.join(', ')}; the messages sent were ${sent.join(', ')}, in that order`);
  stillRunning(server);
}

test('a JSON PONG that would not fit in a frame is refused, and the connection goes on', { points: 1 }, async (h) => {
  const server = await h.start('server', { params: { wire: 'json' } });
  const peer = await Peer.connect(h, server, { wire: 'json' });
  // 70,000 times 1e15: 350 KB in the request, over 1.1 MiB once written in canonical form.
  const text = `{"value":[${Array(70_000).fill('1e15').join(',')}]}`;
  peer.sendRaw(frame(T.PING, Buffer.from(text)), `a JSON PING of ${text.length} bytes whose PONG, written canonically, would be over ${maxPayload}`);
  await peer.expectError('bad-request', 'an ERROR "bad-request": the PONG would not fit in a frame (section 5.1)', { timeoutMs: 15_000 });
  await peer.ping();
});
