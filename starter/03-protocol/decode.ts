// The binary decoder (spec/03-protocol.md, section 3). The payload comes from the network: trust
// nothing in it.
import { NotImplemented } from './todo.js';
import type { Value } from './values.js';

/**
 * Decodes one payload into one value. It must throw a DecodeError, and nothing else, when:
 * - a tag is not 0x00 to 0x03;
 * - the payload ends inside a value (a short int, a count or length announcing more bytes than
 *   are there, an empty payload): check before every read, and never allocate room for a count
 *   before its items are actually there (a count can say 4 billion in a 9-byte payload);
 * - bytes are left over after the value;
 * - a string is not valid UTF-8: use `new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })`
 *   (Buffer.toString() silently replaces bad bytes, and would pass them on);
 * - a map key's tag is not 0x01 (string), or a key appears twice in one map;
 * - values nest more than maxDepth (64) levels: the payload's own value is level 1.
 *
 * Ints come back as bigints (buf.readBigInt64BE()), maps as Maps.
 */
export function decodeValue(payload: Buffer): Value {
  throw new NotImplemented('3.1', 'decodeValue in decode.ts');
}
