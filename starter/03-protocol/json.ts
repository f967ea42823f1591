// The JSON encoding (spec/03-protocol.md, section 10): the same values, written as JSON text.
import { NotImplemented } from './todo.js';
import type { Value } from './values.js';

export const jsonIntMax = 2n ** 53n - 1n;

/**
 * Canonical JSON, as UTF-8 bytes: no whitespace at all; ints in plain decimal (only from
 * -(2^53-1) to 2^53-1 fit: throw a RangeError outside); strings as JSON.stringify writes them;
 * objects with their members in canonical key order (canonicalKeys), lists as arrays.
 * JSON.stringify(value) alone will not do: it knows no bigints, and it does not sort keys.
 */
export function encodeJson(value: Value): Buffer {
  throw new NotImplemented('3.6', 'encodeJson in json.ts');
}

/**
 * Reads any valid JSON (whitespace, any member order, escapes) and returns the value it holds.
 * Throws a DecodeError, and nothing else, for: invalid UTF-8 (decode with a fatal TextDecoder),
 * invalid JSON, true/false/null anywhere, a number that is not a whole number from -(2^53-1) to
 * 2^53-1 (Number.isSafeInteger), a string or key with an unpaired surrogate (the regular
 * expression /\p{Surrogate}/u finds one), nesting deeper than maxDepth.
 */
export function decodeJson(payload: Buffer): Value {
  throw new NotImplemented('3.6', 'decodeJson in json.ts');
}
