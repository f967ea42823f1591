import lab from '../lab.js';
import { phase } from '../../../grader/harness/index.js';
import type { Harness, Proc } from '../../../grader/harness/index.js';
import { Peer, createAccount, login, sendMessage, stillRunning, user } from './peer.js';
import { T, encodeValue, frame, map, message, type Value } from './wire.js';

const test = phase(lab, '3.5');

/** Hex text to bytes: "03 00 00 00 01" -> <Buffer 03 00 00 00 01>. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** A string value whose bytes are given raw: `01`, the length, the bytes (valid UTF-8 or not). */
function rawString(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([hex('01'), length, bytes]);
}

/** {value: <raw bytes>}: a PING payload whose value is given as encoded bytes. */
function pingWith(value: Buffer): Buffer {
  return Buffer.concat([hex('03 00 00 00 01'), encodeValue('value'), value]);
}

/** n values, each inside the one before: lists, maps (one key, "k"), or the two in turn, around an empty list. */
function nested(n: number, kind: 'list' | 'map' | 'mixed'): Buffer {
  const parts: Buffer[] = [];
  for (let level = 1; level < n; level++) {
    const isMap = kind === 'map' || (kind === 'mixed' && level % 2 === 0);
    parts.push(isMap ? Buffer.concat([hex('03 00 00 00 01'), encodeValue('k')]) : hex('02 00 00 00 01'));
  }
  parts.push(hex('02 00 00 00 00'));
  return Buffer.concat(parts);
}

/** Sends each bad PING payload, requires the error code, and a working connection after each. */
async function refuses(h: Harness, server: Proc, code: string, cases: [string, Buffer][]): Promise<void> {
  const peer = await Peer.connect(h, server);
  for (const [label, payload] of cases) {
    peer.sendRaw(frame(T.PING, payload), `a PING whose payload is ${label}: ${payload.subarray(0, 24).toString('hex')}${payload.length > 24 ? '…' : ''}`);
    await peer.expectError(code, `an ERROR "${code}" for a payload that is ${label}`);
    await peer.ping(`a PONG after the payload that is ${label}: the connection goes on`);
  }
}

test('unknown types get an error and the connection goes on', { points: 2 }, async (h) => {
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  const types: bigint[] = [0n, 10n, 99n, 100n, 101n, 150n, -1n, 256n + 1n, 2n ** 32n + 1n, 2n ** 63n - 1n, -(2n ** 63n)];
  for (const type of types) {
    peer.sendRaw(frame(type, encodeValue(map({ value: 'x' }))), `a frame of type ${type}, which is not a request type`);
    await peer.expectError('unknown-type', `an ERROR "unknown-type" for type ${type}`);
  }
  // The type is checked before the payload is decoded: this payload is garbage, the error the same.
  peer.sendRaw(frame(42, hex('ff ff ff')), 'a frame of type 42 with an undecodable payload');
  await peer.expectError('unknown-type', 'an ERROR "unknown-type" (not "bad-payload") for type 42: an unknown type\'s payload is not decoded');
  await peer.ping();
});

test('payloads that do not decode: bad tags, truncated values, leftovers, nesting', { points: 2 }, async (h) => {
  const server = await h.start();
  await refuses(h, server, 'bad-payload', [
    ['empty (no value at all)', Buffer.alloc(0)],
    ['the tag 0x04, which is not defined', hex('04')],
    ['the tag 0xff', hex('ff 00 00 00 00')],
    ['a map holding a value with the tag 0x07', pingWith(hex('07 00'))],
    ['an int cut after 3 of its 8 bytes', pingWith(hex('00 00 00 01'))],
    ['a string whose length says 10 with 3 bytes there', pingWith(hex('01 00 00 00 0a 61 62 63'))],
    ['a string length cut after 2 of its 4 bytes', pingWith(hex('01 00 00'))],
    ['a list whose count says 3 with 1 item there', pingWith(hex('02 00 00 00 03 01 00 00 00 00'))],
    ['a list claiming 4,294,967,295 items in a few bytes', pingWith(hex('02 ff ff ff ff 00'))],
    ['a map whose count says 2 with 1 pair there', Buffer.concat([hex('03 00 00 00 02'), encodeValue('value'), encodeValue(1n)])],
    ['a map whose key is cut short', hex('03 00 00 00 01 01 00 00 00 05 76 61')],
    ['a complete value followed by 2 more bytes', Buffer.concat([encodeValue(map({ value: 'x' })), hex('00 00')])],
    ['two complete values', Buffer.concat([encodeValue(map({ value: 'x' })), encodeValue(map({ value: 'y' }))])],
    // At most 64 levels (section 3), whatever the values that nest: lists, maps or both.
    ['lists nested 100 deep', pingWith(nested(100, 'list'))],
    ['maps nested 100 deep', pingWith(nested(100, 'map'))],
    ['lists and maps nested 1,000 deep', pingWith(nested(1000, 'mixed'))],
  ]);
  stillRunning(server);
});

test('payloads that do not decode: invalid UTF-8, keys that are not strings, repeated keys', { points: 3 }, async (h) => {
  const server = await h.start();
  const withKey = (key: Buffer, value: Value = 1n) => Buffer.concat([hex('03 00 00 00 01'), key, encodeValue(value)]);
  const invalid: [string, Buffer][] = [
    ['a lone continuation byte 0x80', hex('61 80 62')],
    ['a 2-byte sequence cut short (c3 then "(")', hex('c3 28')],
    ['the end inside a 3-byte sequence', hex('61 e2 82')],
    ['an overlong encoding of "/" (c0 af)', hex('c0 af')],
    ['an overlong 3-byte encoding of "/" (e0 80 af)', hex('e0 80 af')],
    ['a UTF-16 surrogate (ed a0 80)', hex('ed a0 80')],
    ['the byte 0xff', hex('ff')],
    ['a code point beyond U+10FFFF (f4 90 80 80)', hex('f4 90 80 80')],
  ];
  // Each as a string value, as a key, and as a string deeper down: every string is checked.
  await refuses(h, server, 'bad-payload', [
    ...invalid.flatMap(([label, bytes]): [string, Buffer][] => [
      [`a string with ${label}`, pingWith(rawString(bytes))],
      [`a map key with ${label}`, withKey(rawString(bytes))],
      [`a list holding a string with ${label}`, pingWith(Buffer.concat([hex('02 00 00 00 02'), encodeValue('ok'), rawString(bytes)]))],
    ]),
    ['a map whose key is an int', withKey(encodeValue(1n))],
    ['a map whose key is a list', withKey(encodeValue(['value']))],
    ['a map whose key is a map', withKey(encodeValue(map()))],
    ['a map with the key "value" twice', Buffer.concat([hex('03 00 00 00 02'), encodeValue('value'), encodeValue(1n), encodeValue('value'), encodeValue(2n)])],
  ]);
  stillRunning(server);
});

test('well-formed values of the wrong shape', { points: 2 }, async (h) => {
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  const refuse = async (type: number, payload: Value, label: string) => {
    peer.send(type, payload);
    await peer.expectError('bad-request', `an ERROR "bad-request" for ${label}`);
    await peer.ping(`a PONG after ${label}`);
  };
  await refuse(T.PING, ['value', 1n], 'a PING whose payload is a list, not a map');
  await refuse(T.PING, 'value', 'a PING whose payload is a string');
  await refuse(T.PING, 7n, 'a PING whose payload is an int');
  await refuse(T.PING, map({ valu: 1n }), 'a PING without the key "value"');
  await refuse(T.CREATE_ACCOUNT, map({ name: 'alice' }), 'a CREATE_ACCOUNT without a password');
  await refuse(T.CREATE_ACCOUNT, map({ name: 5n, password: 'pw' }), 'a CREATE_ACCOUNT whose name is an int');
  await refuse(T.CREATE_ACCOUNT, map({ name: 'alice', password: '' }), 'a CREATE_ACCOUNT with an empty password');
  await refuse(T.LOGIN, map({ name: ['alice'], password: 'pw' }), 'a LOGIN whose name is a list');
  await createAccount(peer, 'alice');
  await createAccount(peer, 'bob');
  await login(peer, 'alice');
  await refuse(T.READ, map({ limit: '10' }), 'a READ whose limit is a string');
  await refuse(T.READ, map({ limit: 0n }), 'a READ with limit 0');
  await refuse(T.READ, map({ limit: -5n }), 'a READ with a negative limit');
  await refuse(T.SEND, map({ to: 'bob' }), 'a SEND without text');
  await refuse(T.SEND, map({ to: 'bob', text: map({ body: 'hi' }) }), 'a SEND whose text is a map');
  await refuse(T.SEND, map({ to: 'bob', text: 'x'.repeat(65_537) }), 'a SEND whose text is 65,537 bytes, one over the limit');
  await refuse(T.SEND, map({ to: 'bob', text: 'é'.repeat(32_769) }), 'a SEND whose text is 32,769 characters but 65,538 bytes: the limit counts UTF-8 bytes');
  await refuse(T.DELETE_MESSAGES, map({ ids: 3n }), 'a DELETE_MESSAGES whose ids is an int, not a list');
  await refuse(T.DELETE_MESSAGES, map({ ids: [1n, 'two'] }), 'a DELETE_MESSAGES with a string among its ids');
  await refuse(T.LIST_ACCOUNTS, map({ pattern: ['*'] }), 'a LIST_ACCOUNTS whose pattern is a list');
  stillRunning(server);
});

test('each frame gets the first error in section 6\'s order', { points: 2 }, async (h) => {
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  await createAccount(peer, 'alice');
  // Each frame has two problems; the one earlier in section 6's list is the one answered:
  // 2 the type, 3 the payload, 4 the login, 5 the shape, 6 the request's own errors.
  const garbage = hex('03 00 00 00 01 ff');
  const loggedOut: [string, Buffer, string][] = [[`an unknown type 0 with an undecodable payload`, frame(0, garbage), 'unknown-type']];
  for (const type of [T.LOGOUT, T.LIST_ACCOUNTS, T.SEND, T.READ, T.DELETE_MESSAGES, T.DELETE_ACCOUNT]) {
    loggedOut.push([`a type ${type} request, logged out, whose payload does not decode`, frame(type, garbage), 'bad-payload']);
    loggedOut.push([`a type ${type} request, logged out, whose payload is a list`, message(type, ['x']), 'not-logged-in']);
  }
  loggedOut.push(
    ['a SEND, logged out, to no account', message(T.SEND, map({ to: 'nobody', text: 'hi' })), 'not-logged-in'],
    ['a CREATE_ACCOUNT with a bad name and an empty password', message(T.CREATE_ACCOUNT, map({ name: 'bad name', password: '' })), 'bad-request'],
    ['a CREATE_ACCOUNT with a bad name and a password that is an int', message(T.CREATE_ACCOUNT, map({ name: 'bad name', password: 5n })), 'bad-request'],
    ['a CREATE_ACCOUNT with a taken name and an empty password', message(T.CREATE_ACCOUNT, map({ name: 'alice', password: '' })), 'bad-request'],
    ['a LOGIN to no account with an empty password', message(T.LOGIN, map({ name: 'nobody', password: '' })), 'bad-request'],
    ['a LOGIN to alice with a password that is a list', message(T.LOGIN, map({ name: 'alice', password: ['pw-alice'] })), 'bad-request'],
  );
  const loggedIn: [string, Buffer, string][] = [
    ['a SEND, logged in, whose payload does not decode', frame(T.SEND, garbage), 'bad-payload'],
    ['a SEND to no account with a text over 65,536 bytes', message(T.SEND, map({ to: 'nobody', text: 'x'.repeat(65_537) })), 'bad-request'],
    ['a SEND whose "to" is an int', message(T.SEND, map({ to: 5n, text: 'hi' })), 'bad-request'],
    ['a LOGIN, logged in, with a wrong password', message(T.LOGIN, map({ name: 'alice', password: 'wrong' })), 'already-logged-in'],
    ['a LOGIN, logged in, to no account', message(T.LOGIN, map({ name: 'nobody', password: 'x' })), 'already-logged-in'],
    ['a LOGIN, logged in, whose name is an int', message(T.LOGIN, map({ name: 7n, password: 'x' })), 'bad-request'],
    ['a CREATE_ACCOUNT, logged in, with a taken name and no password', message(T.CREATE_ACCOUNT, map({ name: 'alice' })), 'bad-request'],
  ];
  for (const cases of [loggedOut, loggedIn]) {
    if (cases === loggedIn) await login(peer, 'alice');
    peer.sendRaw(Buffer.concat(cases.map(([, bytes]) => bytes)), `${cases.length} frames with two problems each, in one write: ${cases.map(([label]) => label).join('; ')}`);
    for (const [label, , code] of cases) await peer.expectError(code, `an ERROR "${code}" for ${label}: the first problem in the order of section 6`);
    await peer.ping();
  }
});

test('after an error the session is as it was', { points: 2 }, async (h) => {
  const server = await h.start();
  const alice = await user(h, server, 'alice');
  const bob = await user(h, server, 'bob');
  alice.sendRaw(frame(T.SEND, hex('03 00 00 00 01 ff')), 'a SEND with an undecodable payload');
  await alice.expectError('bad-payload', 'an ERROR "bad-payload"');
  alice.sendRaw(frame(77, Buffer.alloc(0)), 'a frame of unknown type 77');
  await alice.expectError('unknown-type', 'an ERROR "unknown-type"');
  alice.send(T.SEND, map({ to: 'bob', text: 5n }));
  await alice.expectError('bad-request', 'an ERROR "bad-request"');
  alice.send(T.SEND, map({ to: 'nobody', text: 'hi' }));
  await alice.expectError('no-such-account', 'an ERROR "no-such-account" for a message to a name no account has');
  // Still logged in as alice, and nothing was sent by the failed requests.
  const id = await sendMessage(alice, 'bob', 'after the errors');
  await bob.expectPush({ from: 'alice', id, text: 'after the errors' }, 'the one message alice sent successfully, pushed to bob');
  await bob.expectNoPush('the failed SENDs must not have sent anything');
});

test('clients that vanish mid-frame do not disturb the server', { points: 2 }, async (h) => {
  const server = await h.start();
  const ping = frame(T.PING, encodeValue(map({ value: 'x'.repeat(100) })));
  const cuts: [string, Buffer, 'reset' | 'end'][] = [
    ['half a header, then a reset', ping.subarray(0, 6), 'reset'],
    ['a header and half the payload, then a reset', ping.subarray(0, 60), 'reset'],
    ['half a header, then closing its side', ping.subarray(0, 6), 'end'],
    ['a header and half the payload, then closing its side', ping.subarray(0, 60), 'end'],
  ];
  const bystander = await Peer.connect(h, server, { name: 'bystander' });
  for (const [label, bytes, how] of cuts) {
    const rude = await Peer.connect(h, server, { name: 'vanishing client' });
    rude.sendRaw(bytes, label);
    if (how === 'reset') await rude.conn.reset();
    else {
      rude.conn.end();
      await rude.conn.expectClosed({ what: `the server to close its side after a client sent ${label}` });
    }
    await bystander.ping(`a PONG for another client after one sent ${label}`);
  }
  const after = await Peer.connect(h, server, { name: 'client after' });
  after.sendRaw(ping, 'a whole PING on a new connection');
  await after.expectReply(T.PONG, map({ value: 'x'.repeat(100) }), 'a PONG on a new connection');
  stillRunning(server);
});
