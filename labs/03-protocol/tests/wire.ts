// The grader's own codec for spec/03-protocol.md: frames, tagged values and the JSON encoding,
// written from the spec and nothing else. The phase tests build every frame they send with it and
// compare what a server or client sends back against its canonical encoding, byte for byte.
// It never imports student or solution code: a server in any language is graded by the same bytes.

/** A protocol value: int (bigint, int64), string, list, or map (string keys). */
export type Value = bigint | string | Value[] | ValueMap;
export type ValueMap = Map<string, Value>;

export const headerBytes = 12;
export const maxPayload = 1024 * 1024;
export const maxDepth = 64;
export const int64Min = -(2n ** 63n);
export const int64Max = 2n ** 63n - 1n;
export const jsonIntMax = 2n ** 53n - 1n;

export const Tag = { int: 0x00, string: 0x01, list: 0x02, map: 0x03 } as const;

/** Message types (spec section 4). */
export const T = {
  PING: 1,
  CREATE_ACCOUNT: 2,
  LOGIN: 3,
  LOGOUT: 4,
  LIST_ACCOUNTS: 5,
  SEND: 6,
  READ: 7,
  DELETE_MESSAGES: 8,
  DELETE_ACCOUNT: 9,
  ERROR: 100,
  PONG: 101,
  ACCOUNT_CREATED: 102,
  LOGGED_IN: 103,
  LOGGED_OUT: 104,
  ACCOUNTS: 105,
  SENT: 106,
  MESSAGES: 107,
  DELETED: 108,
  ACCOUNT_DELETED: 109,
  MESSAGE: 150,
} as const;

const typeNames = new Map<number, string>(Object.entries(T).map(([name, n]) => [n, name]));

export function typeName(type: number | bigint): string {
  const name = typeNames.get(Number(type));
  return name ? `${name} (${type})` : `type ${type}`;
}

export type Wire = 'binary' | 'json';

// ---------------------------------------------------------------- building values

/** A map from an object literal, keys in the object's order: map({ name: 'alice', waiting: 0n }). */
export function map(fields: Record<string, Value> = {}): ValueMap {
  return new Map(Object.entries(fields));
}

/** A map from pairs, in the given order, for keys an object literal would reorder ("1", "10"). */
export function mapOf(pairs: [string, Value][]): ValueMap {
  return new Map(pairs);
}

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A map's keys in canonical order: ascending by their UTF-8 bytes. */
export function canonicalKeys(m: ValueMap): string[] {
  return [...m.keys()].sort(utf8Compare);
}

// ---------------------------------------------------------------- binary values

export interface EncodeOptions {
  /** Canonical key order (the default). false keeps each map's own order, for tolerant-reader tests. */
  sortKeys?: boolean;
}

export function encodeValue(value: Value, options: EncodeOptions = {}): Buffer {
  const parts: Buffer[] = [];
  const sortKeys = options.sortKeys ?? true;
  const put = (v: Value): void => {
    if (typeof v === 'bigint') {
      const b = Buffer.alloc(9);
      b[0] = Tag.int;
      b.writeBigInt64BE(v, 1);
      parts.push(b);
    } else if (typeof v === 'string') {
      parts.push(stringBytes(v));
    } else if (Array.isArray(v)) {
      parts.push(countHeader(Tag.list, v.length));
      for (const item of v) put(item);
    } else {
      parts.push(countHeader(Tag.map, v.size));
      for (const key of sortKeys ? canonicalKeys(v) : [...v.keys()]) {
        parts.push(stringBytes(key));
        put(v.get(key)!);
      }
    }
  };
  put(value);
  return Buffer.concat(parts);
}

function stringBytes(s: string): Buffer {
  const text = Buffer.from(s, 'utf8');
  return Buffer.concat([countHeader(Tag.string, text.length), text]);
}

function countHeader(tag: number, n: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = tag;
  b.writeUInt32BE(n, 1);
  return b;
}

/** Why the grader could not decode what it received. */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes one payload strictly, as spec section 3 says a receiver must. */
export function decodeValue(payload: Buffer): Value {
  let at = 0;
  const need = (n: number, what: string) => {
    if (payload.length - at < n) throw new WireError(`truncated ${what} at byte ${at}: needs ${n} bytes, ${payload.length - at} left`);
  };
  const readString = (): string => {
    need(4, 'string length');
    const n = payload.readUInt32BE(at);
    at += 4;
    need(n, 'string');
    try {
      return strictUtf8.decode(payload.subarray(at, (at += n)));
    } catch {
      throw new WireError(`a string ending at byte ${at} is not valid UTF-8`);
    }
  };
  const read = (depth: number): Value => {
    if (depth > maxDepth) throw new WireError(`values nested deeper than ${maxDepth} levels`);
    need(1, 'tag');
    const tag = payload[at++]!;
    switch (tag) {
      case Tag.int:
        need(8, 'int');
        at += 8;
        return payload.readBigInt64BE(at - 8);
      case Tag.string:
        return readString();
      case Tag.list: {
        need(4, 'list count');
        const n = payload.readUInt32BE(at);
        at += 4;
        const list: Value[] = [];
        for (let i = 0; i < n; i++) list.push(read(depth + 1));
        return list;
      }
      case Tag.map: {
        need(4, 'map count');
        const n = payload.readUInt32BE(at);
        at += 4;
        const m: ValueMap = new Map();
        for (let i = 0; i < n; i++) {
          need(1, 'key tag');
          if (payload[at] !== Tag.string) throw new WireError(`a map key at byte ${at} has tag 0x${payload[at]!.toString(16).padStart(2, '0')}, not 0x01 (string)`);
          at++;
          const key = readString();
          if (m.has(key)) throw new WireError(`the key ${JSON.stringify(key)} appears twice in one map`);
          m.set(key, read(depth + 1));
        }
        return m;
      }
      default:
        throw new WireError(`unknown tag 0x${tag.toString(16).padStart(2, '0')} at byte ${at - 1}`);
    }
  };
  const value = read(1);
  if (at !== payload.length) throw new WireError(`${payload.length - at} bytes left over after the value (it ended at byte ${at})`);
  return value;
}

// ---------------------------------------------------------------- JSON values

/** The canonical JSON text of a value (spec section 10): no spaces, keys in UTF-8 byte order. */
export function jsonText(value: Value): string {
  if (typeof value === 'bigint') {
    if (value > jsonIntMax || value < -jsonIntMax) throw new Error(`${value} is out of the JSON encoding's int range`);
    return value.toString();
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  return `{${canonicalKeys(value).map((k) => `${JSON.stringify(k)}:${jsonText(value.get(k)!)}`).join(',')}}`;
}

export function encodeJson(value: Value): Buffer {
  return Buffer.from(jsonText(value), 'utf8');
}

/** In a `u` regular expression a surrogate pair is one code point: this finds only unpaired halves. */
const loneSurrogate = /\p{Surrogate}/u;

export function decodeJson(payload: Buffer): Value {
  let text: string;
  try {
    text = strictUtf8.decode(payload);
  } catch {
    throw new WireError('the JSON text is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new WireError(`not valid JSON: ${(error as Error).message}`);
  }
  const convert = (v: unknown, depth: number): Value => {
    if (depth > maxDepth) throw new WireError(`values nested deeper than ${maxDepth} levels`);
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new WireError(`the number ${v} is not an int in the JSON range`);
      return BigInt(v);
    }
    if (typeof v === 'string') {
      if (loneSurrogate.test(v)) throw new WireError('a string holds an unpaired surrogate');
      return v;
    }
    if (Array.isArray(v)) return v.map((item) => convert(item, depth + 1));
    if (v !== null && typeof v === 'object') {
      const m: ValueMap = new Map();
      for (const [k, item] of Object.entries(v)) {
        if (loneSurrogate.test(k)) throw new WireError('a key holds an unpaired surrogate');
        m.set(k, convert(item, depth + 1));
      }
      return m;
    }
    throw new WireError(`${JSON.stringify(v)} is not a value of the protocol`);
  };
  return convert(parsed, 1);
}

// ---------------------------------------------------------------- either encoding

export function encodePayload(value: Value, wire: Wire = 'binary', options: EncodeOptions = {}): Buffer {
  return wire === 'json' ? encodeJson(value) : encodeValue(value, options);
}

export function decodePayload(payload: Buffer, wire: Wire = 'binary'): Value {
  return wire === 'json' ? decodeJson(payload) : decodeValue(payload);
}

// ---------------------------------------------------------------- frames

/** A frame: the 12-byte header (type: int64 BE, payload length: u32 BE), then the payload. */
export function frame(type: number | bigint, payload: Buffer): Buffer {
  return Buffer.concat([header(type, payload.length), payload]);
}

export function header(type: number | bigint, length: number): Buffer {
  const h = Buffer.alloc(headerBytes);
  h.writeBigInt64BE(BigInt(type), 0);
  h.writeUInt32BE(length, 8);
  return h;
}

/** A whole message: frame(type, canonical payload). */
export function message(type: number | bigint, payload: Value, wire: Wire = 'binary'): Buffer {
  return frame(type, encodePayload(payload, wire));
}

// ---------------------------------------------------------------- comparing and showing

export function equalValues(a: Value, b: Value): boolean {
  if (typeof a === 'bigint' || typeof a === 'string') return a === b;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => equalValues(item, b[i]!));
  if (!(b instanceof Map) || a.size !== b.size) return false;
  for (const [k, v] of a) {
    const other = b.get(k);
    if (other === undefined || !equalValues(v, other)) return false;
  }
  return true;
}

/** A value as a student reads it: {name: "alice", waiting: 0}, ints without an "n". */
export function show(value: Value, max = 300): string {
  const text = render(value);
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

function render(value: Value): string {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return value.length > 80 ? `${JSON.stringify(value.slice(0, 80))}… (${value.length} characters)` : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(render).join(', ')}]`;
  return `{${[...value].map(([k, v]) => `${/^[a-z]+$/.test(k) ? k : JSON.stringify(k)}: ${render(v)}`).join(', ')}}`;
}
