// The relay-chat messages (spec/04-routing.md, section 3): their byte layouts, an encoder for
// each, and a Reader that turns a TCP byte stream back into whole messages.
//
// A message has no length prefix: its first byte is its type, the type fixes the size of the
// header that follows, and the header holds the lengths of the variable fields after it. TCP
// delivers bytes, not messages, so a message may arrive cut into pieces, and several may arrive
// in one read. The Reader keeps the bytes of an unfinished message until the rest arrives.
//
// Every integer is big-endian. Names, infos and texts are UTF-8; their lengths count bytes.
// Decoded messages also carry their exact bytes, so that a server forwards what it received
// byte for byte instead of re-encoding it.

export const SERVER_REGISTRATION = 0x00;
export const STATUS = 0x01;
export const SERVER_QUIT = 0x02;
export const CLIENT_REGISTRATION = 0x80;
export const CLIENT_CHAT = 0x81;
export const CLIENT_QUIT = 0x82;

/** Status codes (section 6). */
export const WELCOME = 0x00;
export const UNKNOWN_ID = 0x01;
export const DUPLICATE_ID = 0x02;
export const PROTOCOL_ERROR = 0x03;
export const NOT_BEHIND_LINK = 0x04;

/** The longest text a message may carry; a longer one is a protocol error (section 3.7). */
export const MAX_TEXT_BYTES = 1024 * 1024;

export interface Registration {
  type: typeof SERVER_REGISTRATION | typeof CLIENT_REGISTRATION;
  source: number;
  lastHop: number;
  name: string;
  info: string;
}

export interface Status {
  type: typeof STATUS;
  source: number;
  destination: number;
  code: number;
  text: string;
}

export interface Chat {
  type: typeof CLIENT_CHAT;
  source: number;
  destination: number;
  text: string;
}

export interface ClientQuit {
  type: typeof CLIENT_QUIT;
  source: number;
  text: string;
}

/** The course's layout: a replacement server's id (0: none) sits between the source and the text. */
export interface ServerQuit {
  type: typeof SERVER_QUIT;
  source: number;
  replacement: number;
  text: string;
}

export type Quit = ClientQuit | ServerQuit;

export type Message = Registration | Status | Chat | Quit;

/** The size of each type's fixed header, type byte included. */
const headerSize: Record<number, number> = {
  [SERVER_REGISTRATION]: 12,
  [CLIENT_REGISTRATION]: 12,
  [STATUS]: 15,
  [CLIENT_CHAT]: 13,
  [CLIENT_QUIT]: 9,
  [SERVER_QUIT]: 13,
};

function utf8(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

export function encodeRegistration(type: Registration['type'], source: number, lastHop: number, name: string, info: string): Buffer {
  const nameBytes = utf8(name);
  const infoBytes = utf8(info);
  if (nameBytes.length > 0xff) throw new RangeError(`a name is at most 255 bytes; "${name}" has ${nameBytes.length}`);
  if (infoBytes.length > 0xffff) throw new RangeError(`an info is at most 65535 bytes; this one has ${infoBytes.length}`);
  const header = Buffer.alloc(12);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(source, 1);
  header.writeUInt32BE(lastHop, 5);
  header.writeUInt8(nameBytes.length, 9);
  header.writeUInt16BE(infoBytes.length, 10);
  return Buffer.concat([header, nameBytes, infoBytes]);
}

export function encodeStatus(source: number, destination: number, code: number, text: string): Buffer {
  const textBytes = utf8(text);
  const header = Buffer.alloc(15);
  header.writeUInt8(STATUS, 0);
  header.writeUInt32BE(source, 1);
  header.writeUInt32BE(destination, 5);
  header.writeUInt16BE(code, 9);
  header.writeUInt32BE(textBytes.length, 11);
  return Buffer.concat([header, textBytes]);
}

export function encodeChat(source: number, destination: number, text: string): Buffer {
  const textBytes = utf8(text);
  const header = Buffer.alloc(13);
  header.writeUInt8(CLIENT_CHAT, 0);
  header.writeUInt32BE(source, 1);
  header.writeUInt32BE(destination, 5);
  header.writeUInt32BE(textBytes.length, 9);
  return Buffer.concat([header, textBytes]);
}

export function encodeClientQuit(source: number, text: string): Buffer {
  const textBytes = utf8(text);
  const header = Buffer.alloc(9);
  header.writeUInt8(CLIENT_QUIT, 0);
  header.writeUInt32BE(source, 1);
  header.writeUInt32BE(textBytes.length, 5);
  return Buffer.concat([header, textBytes]);
}

/** A server quit; this kit's servers never name a replacement, so it is 0. */
export function encodeServerQuit(source: number, text: string, replacement = 0): Buffer {
  const textBytes = utf8(text);
  const header = Buffer.alloc(13);
  header.writeUInt8(SERVER_QUIT, 0);
  header.writeUInt32BE(source, 1);
  header.writeUInt32BE(replacement, 5);
  header.writeUInt32BE(textBytes.length, 9);
  return Buffer.concat([header, textBytes]);
}

/** A copy of a registration's bytes with another last-hop id: how a server passes one on. */
export function withLastHop(registration: Buffer, lastHop: number): Buffer {
  const copy = Buffer.from(registration);
  copy.writeUInt32BE(lastHop, 5);
  return copy;
}

/** What the Reader hands out: a whole message and its bytes, or the reason the stream is unreadable. */
export type ReadResult = { message: Message; bytes: Buffer } | { error: string };

/**
 * Reassembles messages from a byte stream. push() each chunk as it arrives, then call next()
 * until it returns undefined (the rest of a message has not arrived yet). After an error the
 * stream cannot be read any further: without a length prefix there is no way to find where
 * the next message starts.
 */
export class Reader {
  private buffered: Buffer = Buffer.alloc(0);
  private failed = false;

  push(chunk: Buffer): void {
    if (this.failed) return;
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
  }

  next(): ReadResult | undefined {
    if (this.failed || this.buffered.length === 0) return undefined;
    const bytes = this.buffered;
    const type = bytes[0]!;
    const header = headerSize[type];
    if (header === undefined) return this.fail(`Unknown message type 0x${type.toString(16).padStart(2, '0')}`);
    if (bytes.length < header) return undefined;
    const size = this.sizeOf(type, bytes);
    if (size === undefined) return this.fail('Message too long');
    if (bytes.length < size) return undefined;
    // A copy: a message kept for later must not pin the whole chunk it arrived in.
    const whole = Buffer.from(bytes.subarray(0, size));
    this.buffered = bytes.subarray(size);
    return { message: decode(type, whole), bytes: whole };
  }

  /** The whole size of the message whose header is at the start of `bytes`; undefined if too long. */
  private sizeOf(type: number, bytes: Buffer): number | undefined {
    switch (type) {
      case SERVER_REGISTRATION:
      case CLIENT_REGISTRATION:
        return 12 + bytes.readUInt8(9) + bytes.readUInt16BE(10);
      case STATUS:
        return textSize(15, bytes.readUInt32BE(11));
      case CLIENT_CHAT:
      case SERVER_QUIT:
        return textSize(13, bytes.readUInt32BE(9));
      default:
        return textSize(9, bytes.readUInt32BE(5));
    }
  }

  private fail(error: string): ReadResult {
    this.failed = true;
    this.buffered = Buffer.alloc(0);
    return { error };
  }
}

function textSize(header: number, textLength: number): number | undefined {
  return textLength > MAX_TEXT_BYTES ? undefined : header + textLength;
}

/** Decodes one whole message of a known type. */
function decode(type: number, bytes: Buffer): Message {
  const text = (from: number) => bytes.subarray(from).toString('utf8');
  switch (type) {
    case SERVER_REGISTRATION:
    case CLIENT_REGISTRATION: {
      const nameEnd = 12 + bytes.readUInt8(9);
      return {
        type,
        source: bytes.readUInt32BE(1),
        lastHop: bytes.readUInt32BE(5),
        name: bytes.subarray(12, nameEnd).toString('utf8'),
        info: text(nameEnd),
      };
    }
    case STATUS:
      return { type, source: bytes.readUInt32BE(1), destination: bytes.readUInt32BE(5), code: bytes.readUInt16BE(9), text: text(15) };
    case CLIENT_CHAT:
      return { type, source: bytes.readUInt32BE(1), destination: bytes.readUInt32BE(5), text: text(13) };
    case SERVER_QUIT:
      return { type, source: bytes.readUInt32BE(1), replacement: bytes.readUInt32BE(5), text: text(13) };
    default:
      return { type: CLIENT_QUIT, source: bytes.readUInt32BE(1), text: text(9) };
  }
}
