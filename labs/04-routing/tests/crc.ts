// The grader's own codec for the relay-chat protocol (spec/04-routing.md, section 3). The grader
// speaks the protocol itself, so that it can stand in the tree as a server or a client; it never
// borrows code from the solution or the starter, so that a mistake there cannot hide here.
//
// Layouts, big-endian, lengths in bytes:
//   0x00 / 0x80 registration   type u8 | source u32 | last hop u32 | name length u8 | info length u16 | name | info
//   0x01 status                type u8 | source u32 | destination u32 | code u16 | text length u32 | text
//   0x81 chat                  type u8 | source u32 | destination u32 | text length u32 | text
//   0x82 client quit           type u8 | source u32 | text length u32 | text
//   0x02 server quit           type u8 | source u32 | replacement id u32 | text length u32 | text

export const T = {
  serverRegistration: 0x00,
  status: 0x01,
  serverQuit: 0x02,
  clientRegistration: 0x80,
  chat: 0x81,
  clientQuit: 0x82,
} as const;

export const Code = { welcome: 0x00, unknownId: 0x01, duplicateId: 0x02, protocolError: 0x03, notBehind: 0x04 } as const;

export const maxTextBytes = 1024 * 1024;

export type Msg =
  | { type: 0x00 | 0x80; source: number; lastHop: number; name: string; info: string }
  | { type: 0x01; source: number; destination: number; code: number; text: string }
  | { type: 0x81; source: number; destination: number; text: string }
  | { type: 0x82; source: number; text: string }
  | { type: 0x02; source: number; replacement: number; text: string };

/** The texts the spec fixes (section 6). */
export const texts = {
  welcome: (name: string) => `Welcome to the Clemson Relay Chat network ${name}`,
  unknownId: (id: number) => `Unknown ID ${id}`,
  /** A refused registration: the course keeps "Someone" for clients and "A machine" for servers. */
  duplicateId: (id: number, kind: 'server' | 'client') => (kind === 'client' ? `Someone has already registered with ID ${id}` : `A machine has already registered with ID ${id}`),
  notBehind: (id: number) => `Source ID ${id} is not behind this link`,
  unknownType: (type: number) => `Unknown message type 0x${type.toString(16).padStart(2, '0')}`,
};

const u8 = (n: number) => Buffer.from([n]);
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function encode(msg: Msg): Buffer {
  switch (msg.type) {
    case 0x00:
    case 0x80: {
      const name = Buffer.from(msg.name);
      const info = Buffer.from(msg.info);
      return Buffer.concat([u8(msg.type), u32(msg.source), u32(msg.lastHop), u8(name.length), u16(info.length), name, info]);
    }
    case 0x01: {
      const text = Buffer.from(msg.text);
      return Buffer.concat([u8(msg.type), u32(msg.source), u32(msg.destination), u16(msg.code), u32(text.length), text]);
    }
    case 0x81: {
      const text = Buffer.from(msg.text);
      return Buffer.concat([u8(msg.type), u32(msg.source), u32(msg.destination), u32(text.length), text]);
    }
    case 0x82: {
      const text = Buffer.from(msg.text);
      return Buffer.concat([u8(msg.type), u32(msg.source), u32(text.length), text]);
    }
    case 0x02: {
      const text = Buffer.from(msg.text);
      return Buffer.concat([u8(msg.type), u32(msg.source), u32(msg.replacement), u32(text.length), text]);
    }
  }
}

/** Splits a byte stream into messages, however it was cut; an unknown type stops it for good. */
export class Decoder {
  private pending = Buffer.alloc(0);
  broken: string | undefined;

  /** Adds bytes; returns every message now complete. */
  push(chunk: Buffer): { msg: Msg; raw: Buffer }[] {
    if (this.broken) return [];
    this.pending = Buffer.concat([this.pending, chunk]);
    const out: { msg: Msg; raw: Buffer }[] = [];
    for (;;) {
      const size = this.sizeOfFirst();
      if (size === undefined || this.pending.length < size) return out;
      const raw = this.pending.subarray(0, size);
      this.pending = this.pending.subarray(size);
      out.push({ msg: parse(raw), raw: Buffer.from(raw) });
    }
  }

  /** Bytes of an unfinished message. */
  get leftover(): number {
    return this.pending.length;
  }

  private sizeOfFirst(): number | undefined {
    const p = this.pending;
    if (p.length === 0) return undefined;
    const fixed: Record<number, number> = { 0x00: 12, 0x80: 12, 0x01: 15, 0x81: 13, 0x82: 9, 0x02: 13 };
    const head = fixed[p[0]!];
    if (head === undefined) {
      this.broken = `a message of unknown type 0x${p[0]!.toString(16).padStart(2, '0')} (bytes ${p.subarray(0, 16).toString('hex').replace(/(..)/g, '$1 ').trim()})`;
      return undefined;
    }
    if (p.length < head) return undefined;
    let body: number;
    if (head === 12) body = p.readUInt8(9) + p.readUInt16BE(10);
    else body = p.readUInt32BE(head - 4);
    if (body > maxTextBytes + 0xffff) {
      this.broken = `a message announcing ${body} bytes of text`;
      return undefined;
    }
    return head + body;
  }
}

function parse(raw: Buffer): Msg {
  const type = raw[0]!;
  const source = raw.readUInt32BE(1);
  switch (type) {
    case 0x00:
    case 0x80: {
      const nameLength = raw.readUInt8(9);
      return { type, source, lastHop: raw.readUInt32BE(5), name: raw.toString('utf8', 12, 12 + nameLength), info: raw.toString('utf8', 12 + nameLength) };
    }
    case 0x01:
      return { type, source, destination: raw.readUInt32BE(5), code: raw.readUInt16BE(9), text: raw.toString('utf8', 15) };
    case 0x81:
      return { type, source, destination: raw.readUInt32BE(5), text: raw.toString('utf8', 13) };
    case 0x02:
      return { type, source, replacement: raw.readUInt32BE(5), text: raw.toString('utf8', 13) };
    default:
      return { type: type as 0x82, source, text: raw.toString('utf8', 9) };
  }
}

const short = (text: string) => JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);

/** One message in words, for the grader's account of a test. */
export function describe(msg: Msg): string {
  switch (msg.type) {
    case 0x00:
      return `server registration ${msg.source} ${short(msg.name)} last hop ${msg.lastHop}`;
    case 0x80:
      return `client registration ${msg.source} ${short(msg.name)} last hop ${msg.lastHop}`;
    case 0x01:
      return `status 0x${msg.code.toString(16).padStart(2, '0')} from ${msg.source} to ${msg.destination} ${short(msg.text)}`;
    case 0x81:
      return `chat from ${msg.source} to ${msg.destination} ${short(msg.text)}`;
    case 0x82:
      return `client quit ${msg.source} ${short(msg.text)}`;
    case 0x02:
      return `server quit ${msg.source}${msg.replacement ? ` (replacement ${msg.replacement})` : ''} ${short(msg.text)}`;
  }
}
