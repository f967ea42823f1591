// The binary encoder (spec/03-protocol.md, section 3): a tag byte, then the value's bytes. Lists
// and maps write a count, then their items; maps write their keys in canonical order, so that
// equal values always encode to equal bytes.
import { Tag, canonicalKeys, type Value } from './values.js';

export function encodeValue(value: Value): Buffer {
  const parts: Buffer[] = [];
  write(value, parts);
  // Collecting the pieces and joining them once copies each byte once, however deep the value.
  return Buffer.concat(parts);
}

function write(value: Value, parts: Buffer[]): void {
  if (typeof value === 'bigint') {
    parts.push(encodeInt(value));
  } else if (typeof value === 'string') {
    parts.push(encodeString(value));
  } else if (Array.isArray(value)) {
    parts.push(countHeader(Tag.list, value.length));
    for (const item of value) write(item, parts);
  } else {
    parts.push(countHeader(Tag.map, value.size));
    for (const key of canonicalKeys(value)) {
      parts.push(encodeString(key));
      write(value.get(key)!, parts);
    }
  }
}

/** 0x00, then the int as 8 bytes, big-endian, two's complement. Throws a RangeError outside int64. */
export function encodeInt(n: bigint): Buffer {
  const bytes = Buffer.alloc(9);
  bytes[0] = Tag.int;
  bytes.writeBigInt64BE(n, 1);
  return bytes;
}

/** 0x01, then the UTF-8 byte count (not the character count), then the bytes. */
function encodeString(text: string): Buffer {
  const utf8 = Buffer.from(text, 'utf8');
  return Buffer.concat([countHeader(Tag.string, utf8.length), utf8]);
}

function countHeader(tag: number, count: number): Buffer {
  const bytes = Buffer.alloc(5);
  bytes[0] = tag;
  bytes.writeUInt32BE(count, 1);
  return bytes;
}
