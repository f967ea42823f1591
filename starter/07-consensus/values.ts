// Values: what a payload carries (spec/03-protocol.md, section 3).
//
// A value is an int, a string, a list or a map with string keys. Ints are 64-bit on the wire, more
// than a JavaScript number holds exactly (2^53), so they are bigints here. Maps are `Map`s, not
// plain objects: an object would reorder keys that look like integers and treat "__proto__" as
// special, and a map's keys are data the protocol must carry unchanged.
export type Value = bigint | string | Value[] | ValueMap;
export type ValueMap = Map<string, Value>;

/** The first byte of every encoded value says which kind follows. */
export const Tag = { int: 0x00, string: 0x01, list: 0x02, map: 0x03 } as const;

export const int64Min = -(2n ** 63n);
export const int64Max = 2n ** 63n - 1n;

/** How deep values may nest; the outermost value is level 1. Deeper is refused, not recursed into. */
export const maxDepth = 64;

/** A payload that does not decode. The only error a decoder throws for bad input. */
export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

/**
 * A map's keys in canonical order: ascending by their UTF-8 bytes. Writing keys in this one order
 * gives every value exactly one encoding. (String comparison in JavaScript compares UTF-16 code
 * units, which orders some characters differently, so compare the bytes.)
 */
export function canonicalKeys(map: ValueMap): string[] {
  return [...map.keys()]
    .map((key) => ({ key, bytes: Buffer.from(key, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map(({ key }) => key);
}

/**
 * A client's string, quoted and cut short, for an error message: the string may be a megabyte
 * long, and the error reply must still fit in a frame.
 */
export function brief(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/** A map from an object literal, for building replies: valueMap({ name, waiting: 0n }). */
export function valueMap(fields: Record<string, Value>): ValueMap {
  return new Map(Object.entries(fields));
}
