// The binary decoder (spec/03-protocol.md, section 3). The payload comes from the network, so
// nothing in it is trusted: every length and count is checked against the bytes actually there
// before it is used, nesting is bounded, text must be valid UTF-8, and the value must end exactly
// where the payload does. Anything wrong throws a DecodeError, and nothing else: the server turns
// it into a `bad-payload` reply and goes on.
import { DecodeError, Tag, brief, maxDepth, type Value, type ValueMap } from './values.js';

// `fatal` rejects invalid UTF-8 instead of replacing it with U+FFFD (Buffer.toString would);
// `ignoreBOM` keeps a leading U+FEFF as a character of the string instead of dropping it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeValue(payload: Buffer): Value {
  const reader = new Reader(payload);
  const value = reader.value(1);
  if (reader.left > 0) throw new DecodeError(`${reader.left} bytes left over after the value`);
  return value;
}

class Reader {
  private at = 0;

  constructor(private readonly bytes: Buffer) {}

  get left(): number {
    return this.bytes.length - this.at;
  }

  value(depth: number): Value {
    if (depth > maxDepth) throw new DecodeError(`values nested more than ${maxDepth} levels deep`);
    const tag = this.byte('a tag');
    switch (tag) {
      case Tag.int:
        return this.int();
      case Tag.string:
        return this.string();
      case Tag.list:
        return this.list(depth);
      case Tag.map:
        return this.map(depth);
      default:
        throw new DecodeError(`unknown tag 0x${tag.toString(16).padStart(2, '0')} at byte ${this.at - 1}`);
    }
  }

  /** The 8 bytes after an int's tag: big-endian, two's complement. */
  int(): bigint {
    this.need(8, 'an int');
    const n = this.bytes.readBigInt64BE(this.at);
    this.at += 8;
    return n;
  }

  private string(): string {
    const length = this.u32('a string length');
    this.need(length, 'a string');
    const text = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    try {
      return utf8.decode(text);
    } catch {
      throw new DecodeError(`a string ending at byte ${this.at} is not valid UTF-8`);
    }
  }

  private list(depth: number): Value[] {
    // The count is only a claim: items are read one by one, and a short payload ends the loop
    // with a DecodeError long before a lying count of four billion could fill memory.
    const count = this.u32('a list count');
    const items: Value[] = [];
    for (let i = 0; i < count; i++) items.push(this.value(depth + 1));
    return items;
  }

  private map(depth: number): ValueMap {
    const count = this.u32('a map count');
    const map: ValueMap = new Map();
    for (let i = 0; i < count; i++) {
      const tag = this.byte('a key');
      if (tag !== Tag.string) throw new DecodeError(`a map key at byte ${this.at - 1} has tag 0x${tag.toString(16).padStart(2, '0')}: keys are strings`);
      const key = this.string();
      if (map.has(key)) throw new DecodeError(`the key ${brief(key)} appears twice in one map`);
      map.set(key, this.value(depth + 1));
    }
    return map;
  }

  private byte(what: string): number {
    this.need(1, what);
    return this.bytes[this.at++]!;
  }

  private u32(what: string): number {
    this.need(4, what);
    const n = this.bytes.readUInt32BE(this.at);
    this.at += 4;
    return n;
  }

  private need(n: number, what: string): void {
    if (this.left < n) throw new DecodeError(`the payload ends inside ${what} at byte ${this.at}: ${n} bytes needed, ${this.left} left`);
  }
}
