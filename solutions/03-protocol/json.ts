// The JSON encoding (spec/03-protocol.md, section 10): the same values, written as JSON text.
//
// Writing is canonical, so that two encoders agree byte for byte: no whitespace, object keys in
// the same order as binary maps, strings escaped exactly as JSON.stringify does. Reading accepts
// any valid JSON, then checks that it holds only values of the protocol: JSON has no 64-bit ints
// (a JSON number is a double, exact only up to 2^53), and the protocol has no true, false or null.
import { DecodeError, canonicalKeys, maxDepth, type Value, type ValueMap } from './values.js';

export const jsonIntMax = 2n ** 53n - 1n;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** In a `u` regular expression a surrogate pair is one code point: this finds only unpaired halves. */
const loneSurrogate = /\p{Surrogate}/u;

export function encodeJson(value: Value): Buffer {
  return Buffer.from(jsonText(value), 'utf8');
}

function jsonText(value: Value): string {
  if (typeof value === 'bigint') {
    if (value > jsonIntMax || value < -jsonIntMax) throw new RangeError(`${value} does not fit the JSON encoding's ints`);
    return value.toString();
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  const members = canonicalKeys(value).map((key) => `${JSON.stringify(key)}:${jsonText(value.get(key)!)}`);
  return `{${members.join(',')}}`;
}

export function decodeJson(payload: Buffer): Value {
  let text: string;
  let parsed: unknown;
  try {
    text = utf8.decode(payload);
  } catch {
    throw new DecodeError('the JSON text is not valid UTF-8');
  }
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DecodeError(`not valid JSON: ${(error as Error).message}`);
  }
  return fromJson(parsed, 1);
}

function fromJson(json: unknown, depth: number): Value {
  if (depth > maxDepth) throw new DecodeError(`values nested more than ${maxDepth} levels deep`);
  if (typeof json === 'number') {
    // Every whole number up to 2^53 - 1 parses exactly; anything bigger may already be rounded.
    if (!Number.isSafeInteger(json)) throw new DecodeError(`${json} is not an int from -(2^53-1) to 2^53-1`);
    return BigInt(json);
  }
  if (typeof json === 'string') return checkedString(json);
  if (Array.isArray(json)) return json.map((item) => fromJson(item, depth + 1));
  if (json !== null && typeof json === 'object') {
    const map: ValueMap = new Map();
    for (const [key, item] of Object.entries(json)) map.set(checkedString(key), fromJson(item, depth + 1));
    return map;
  }
  throw new DecodeError(`${JSON.stringify(json)} is not a value of the protocol`);
}

/** JSON may spell an unpaired surrogate ("\ud800"), which is no character: UTF-8 cannot carry it. */
function checkedString(text: string): string {
  if (loneSurrogate.test(text)) throw new DecodeError('a string holds an unpaired surrogate');
  return text;
}
