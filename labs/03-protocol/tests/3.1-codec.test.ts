import lab from '../lab.js';
import { phase } from '../../../grader/harness/index.js';
import type { Harness } from '../../../grader/harness/index.js';
import { Peer } from './peer.js';
import { T, encodeValue, frame, int64Max, int64Min, map, mapOf, show, type Value } from './wire.js';

const test = phase(lab, '3.1');

/** PINGs each value and requires its PONG to be the same payload, byte for byte. */
async function roundTrips(h: Harness, values: [string, Value][]): Promise<void> {
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  for (const [label, value] of values) {
    peer.send(T.PING, map({ value }));
    await peer.expectReply(T.PONG, map({ value }), `the PONG for ${label}: ${show(value, 80)}`);
  }
}

test('ints, with the int64 extremes', { points: 5 }, async (h) => {
  const ints = [0n, 1n, -1n, 255n, 256n, -256n, 2n ** 31n - 1n, 2n ** 31n, -(2n ** 31n), 2n ** 32n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n + 1n), int64Max, int64Min];
  // 2^53 + 1 has no exact double: a codec that goes through a JavaScript number returns 2^53.
  await roundTrips(h, [...ints.map((n): [string, Value] => ['an int', n]), ['a list of all of them', ints]]);
});

test('strings: empty, multi-byte UTF-8, NUL, long', { points: 4 }, async (h) => {
  await roundTrips(h, [
    ['the empty string', ''],
    ['a short string', 'hello, switchboard'],
    // The length prefix counts bytes, not characters: these take 2, 3 and 4 bytes each.
    ['a string of multi-byte characters', 'héllo wörld — ✓ 𝄞 🚀 日本語'],
    ['a string with NULs and control characters', '\u0000nul\u0000 line\nbreak\r\n\ttab \u007f'],
    ['a string starting with a byte order mark, which is text like any other', '\ufeffBOM first'],
    ['a 70,000-byte string (its length does not fit in 16 bits)', 'x'.repeat(69_990) + '0123456789'],
  ]);
});

test('lists: empty, mixed, nested', { points: 4 }, async (h) => {
  let deep: Value = ['bottom'];
  for (let i = 0; i < 20; i++) deep = [BigInt(i), deep];
  await roundTrips(h, [
    ['the empty list', []],
    ['a list holding an empty list', [[]]],
    ['a mixed list', [1n, 'two', [3n, ['four']], map({ five: 5n })]],
    ['lists nested 21 deep', deep],
    ['a list of 1000 ints', Array.from({ length: 1000 }, (_, i) => BigInt(i * 7919) - 3_000_000n)],
  ]);
});

test('maps: empty, nested, keys in canonical order', { points: 4 }, async (h) => {
  await roundTrips(h, [
    ['the empty map', map()],
    ['a map of one pair', map({ a: 1n })],
    // Canonical order is by UTF-8 bytes: "" < "B" < "a" < "aa" < "b" < "é" (c3 a9) < "日".
    ['a map whose keys need sorting', mapOf([['b', 1n], ['aa', 2n], ['日', 3n], ['a', 4n], ['é', 5n], ['B', 6n], ['', 7n]])],
    // JavaScript objects move integer-like keys to the front, in numeric order: "9" before "10".
    ['a map with integer-like keys', mapOf([['9', 'nine'], ['10', 'ten'], ['1', 'one'], ['x', 'ex']])],
    ['a map with keys an object would treat specially', mapOf([['__proto__', 'p'], ['constructor', 'c'], ['toString', 't'], ['hasOwnProperty', 'h']])],
    // UTF-16 order puts U+1F600 (d83d de00) before U+FF5E; UTF-8 order puts it after (f0 > ef).
    ['a map with keys beyond the Basic Multilingual Plane', mapOf([['😀', 1n], ['～', 2n], ['z', 3n]])],
    ['maps inside lists inside maps', map({ users: [map({ name: 'alice', tags: ['x', 'y'] }), map({})], count: 2n })],
  ]);
  // Sent out of canonical order, which a receiver accepts; the PONG is written in canonical order.
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  const unsorted = mapOf([['b', 1n], ['aa', 2n], ['日', 3n], ['a', 4n], ['é', 5n], ['B', 6n], ['', 7n]]);
  peer.sendRaw(frame(T.PING, encodeValue(map({ value: unsorted }), { sortKeys: false })), 'a PING whose map has its keys out of canonical order');
  await peer.expectReply(T.PONG, map({ value: unsorted }), 'the PONG, its map written in canonical key order (section 3): the sender sorts, whatever order it received');
});

test('every kind of value, nested together', { points: 3 }, async (h) => {
  const value = map({
    empty: map({ list: [], map: map(), string: '' }),
    ints: [int64Min, -1n, 0n, 1n, int64Max],
    text: 'ünïcödé ✓',
    tree: map({ left: map({ leaf: 1n }), right: [map({ leaf: 2n }), [map({ leaf: [3n, '3'] })]] }),
  });
  await roundTrips(h, [['a map holding every kind of value', value]]);
});
