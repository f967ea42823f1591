import lab from '../lab.js';
import { phase } from '../../../grader/harness/index.js';
import { Peer, createAccount, expectRead, login, sendMessage, stillRunning, user } from './peer.js';
import { T, encodeValue, frame, jsonIntMax, map, mapOf, show, type Value } from './wire.js';

const test = phase(lab, '3.6');

const json = { params: { wire: 'json' } };

test('ping round trips in canonical JSON', { points: 3 }, async (h) => {
  const server = await h.start('server', json);
  const peer = await Peer.connect(h, server, { wire: 'json' });
  const values: Value[] = [
    0n,
    -42n,
    jsonIntMax,
    -jsonIntMax,
    '',
    'quote " backslash \\ slash / done',
    'controls \n \r \t \b \f \u0000 \u0001 \u001f and DEL \u007f',
    'héllo wörld — ✓ 𝄞 🚀 \u2028 \u2029',
    [],
    [1n, ['two', [3n]], map()],
    // Members in UTF-8 byte order, as in binary: "B" < "a" < "aa" < "é" < "～" < "😀".
    mapOf([['😀', 1n], ['é', 2n], ['aa', 3n], ['a', 4n], ['B', 5n], ['～', 6n]]),
    mapOf([['9', 'nine'], ['10', 'ten'], ['__proto__', 'p']]),
    map({ users: [map({ name: 'alice', tags: ['x'] })], count: 1n }),
  ];
  for (const value of values) {
    peer.send(T.PING, map({ value }));
    await peer.expectReply(T.PONG, map({ value }), `the PONG for ${show(value, 80)}, as canonical JSON`);
  }
});

test('accounts and messages over JSON', { points: 3 }, async (h) => {
  const server = await h.start('server', json);
  const alice = await user(h, server, 'alice', 'json');
  alice.send(T.CREATE_ACCOUNT, map({ name: 'alice', password: 'again' }));
  await alice.expectError('name-taken', 'an ERROR "name-taken", in JSON');
  await createAccount(alice, 'carol');
  const bob = await user(h, server, 'bob', 'json');
  const pushed = await sendMessage(alice, 'bob', 'hi bob, "quoted" ✓');
  await bob.expectPush({ from: 'alice', id: pushed, text: 'hi bob, "quoted" ✓' }, 'the MESSAGE pushed to bob, in JSON');
  const waiting = [
    { from: 'alice', id: await sendMessage(alice, 'carol', 'one'), text: 'one' },
    { from: 'bob', id: await sendMessage(bob, 'carol', 'two\nlines'), text: 'two\nlines' },
  ];
  const carol = await Peer.connect(h, server, { name: 'carol', wire: 'json' });
  await login(carol, 'carol', 2);
  await expectRead(carol, 1, waiting.slice(0, 1), 1, 'MESSAGES with one message and 1 remaining, in JSON');
  await expectRead(carol, 5, waiting.slice(1), 0, 'MESSAGES with the other, in JSON');
  carol.send(T.LIST_ACCOUNTS, map({ pattern: '*o*' }));
  await carol.expectReply(T.ACCOUNTS, map({ names: ['bob', 'carol'] }), 'ACCOUNTS for "*o*", in JSON');
  carol.send(T.DELETE_MESSAGES, map({ ids: [waiting[0]!.id] }));
  await carol.expectReply(T.DELETED, map({ ids: [] }), 'DELETED {ids: []}, in JSON');
});

test('JSON that is not a protocol value is refused, and the connection goes on', { points: 2 }, async (h) => {
  const server = await h.start('server', json);
  const peer = await Peer.connect(h, server, { wire: 'json' });
  const text = (s: string) => Buffer.from(s, 'utf8');
  const cases: [string, Buffer, string][] = [
    ['cut short', text('{"value":'), 'bad-payload'],
    ['empty', Buffer.alloc(0), 'bad-payload'],
    ['not JSON at all', text('hello'), 'bad-payload'],
    ['followed by more text', text('{"value":1} {}'), 'bad-payload'],
    ['holding true', text('{"value":true}'), 'bad-payload'],
    ['holding null', text('{"value":null}'), 'bad-payload'],
    ['holding false in a list', text('{"value":[1,false]}'), 'bad-payload'],
    ['holding the number 1.5', text('{"value":1.5}'), 'bad-payload'],
    ['holding 2^53, one past the JSON int range', text('{"value":9007199254740992}'), 'bad-payload'],
    ['holding -2^53', text('{"value":-9007199254740992}'), 'bad-payload'],
    ['holding 1e300', text('{"value":1e300}'), 'bad-payload'],
    ['holding an unpaired surrogate escape', text('{"value":"\\ud800"}'), 'bad-payload'],
    ['holding a lone low surrogate escape', text('{"value":"\\udc00"}'), 'bad-payload'],
    ['holding a surrogate pair in the wrong order', text('{"value":"\\ude00\\ud83d"}'), 'bad-payload'],
    // Every key and every value is checked, the ones the request does not use too.
    ['holding an unpaired surrogate escape in a key', text('{"\\ud800":1,"value":1}'), 'bad-payload'],
    ['holding an unpaired surrogate escape in a nested key', text('{"value":[{"a\\ud800":1}]}'), 'bad-payload'],
    ['holding null under a key the request does not use', text('{"extra":null,"value":1}'), 'bad-payload'],
    ['holding arrays nested 100 deep', text(`{"value":${'['.repeat(99)}${']'.repeat(99)}}`), 'bad-payload'],
    ['holding objects nested 100 deep', text(`{"value":${'{"k":'.repeat(98)}[]${'}'.repeat(98)}}`), 'bad-payload'],
    ['holding invalid UTF-8', Buffer.concat([text('{"value":"a'), Buffer.from([0xff]), text('"}')]), 'bad-payload'],
    ['the binary encoding instead of JSON', encodeValue(map({ value: 'x' })), 'bad-payload'],
    ['an array, not an object', text('["value",1]'), 'bad-request'],
    ['a string, not an object', text('"value"'), 'bad-request'],
    ['a number, not an object', text('42'), 'bad-request'],
    ['an object without "value"', text('{"valu":1}'), 'bad-request'],
  ];
  for (const [label, payload, code] of cases) {
    peer.sendRaw(frame(T.PING, payload), `a PING whose JSON payload is ${label}: ${JSON.stringify(payload.toString('latin1'))}`);
    await peer.expectError(code, `an ERROR "${code}" for a JSON payload ${label}`);
    await peer.ping(`a PONG after the JSON payload ${label}`);
  }
  stillRunning(server);
});

test('any valid JSON is read, and canonical JSON written back', { points: 2 }, async (h) => {
  const server = await h.start('server', json);
  const peer = await Peer.connect(h, server, { wire: 'json' });
  const cases: [string, Value][] = [
    ['{ "value" : [ 1 , 2 ] }\n', [1n, 2n]],
    ['{"value":{"b":1,"a":2}}', map({ a: 2n, b: 1n })],
    ['{"value":"\\u00e9\\ud83d\\ude00 \\/ \\u0041"}', 'é😀 / A'],
    ['{"value":1e2}', 100n],
    ['{"value":100.0}', 100n],
    ['{"value":-0}', 0n],
    ['{"extra":[1,{"x":"y"}],"value":"unknown keys are ignored"}', 'unknown keys are ignored'],
  ];
  for (const [text, value] of cases) {
    peer.sendRaw(frame(T.PING, Buffer.from(text, 'utf8')), `a PING whose payload is the JSON text ${JSON.stringify(text)}`);
    await peer.expectReply(T.PONG, map({ value }), `the PONG for ${JSON.stringify(text)}, in canonical JSON`);
  }
});
