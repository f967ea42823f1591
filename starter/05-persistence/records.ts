// Records (spec/05-persistence.md, sections 4 and 5): the unit of the log and of a snapshot.
//
//   crc (u32 BE)   length (u32 BE)   type (1 byte)   payload (`length` bytes: one value, a map)
//
// The CRC-32 covers everything after itself: the length, the type and the payload. So a record is
// *intact* exactly when all its bytes are there and the checksum over them matches; a damaged
// length is caught like any other damaged byte. Whether an intact record says something sensible
// (a known type, the fields its type needs) is the reader's next question, not this file's.
//
// Yours: encodeRecord and intactAt (phase 5.1), intactAfter, the search past the first bad offset (5.3).
import zlib from 'node:zlib'; // zlib.crc32(bytes) is the checksum
import { decodeValue } from './decode.js';
import { NotImplemented } from './todo.js';
import { encodeValue } from './encode.js';
import { DecodeError, type ValueMap } from './values.js';

export const RecordType = {
  ACCOUNT_CREATED: 1,
  MESSAGE_SENT: 2,
  MESSAGES_DELIVERED: 3,
  MESSAGES_DELETED: 4,
  ACCOUNT_DELETED: 5,
  SNAPSHOT: 16,
} as const;

export const recordHeaderBytes = 9;
/** The largest payload of a log record; a snapshot's may be larger. */
export const maxLogPayload = 1024 * 1024;

export interface LogRecord {
  type: number;
  payload: ValueMap;
}

/** An intact record found in a file: where it starts and ends, and its raw parts. */
export interface Intact {
  offset: number;
  end: number;
  type: number;
  payload: Buffer;
}

/**
 * One record's bytes (spec section 4): crc (u32 BE), length (u32 BE), type (1 byte), then the
 * payload, encodeValue(payload). The crc is zlib.crc32 of everything after the crc field.
 * Check yours against the spec's example: MESSAGE_SENT {from: "alice", index: 7, text: "hi",
 * to: "bob"} is 83 bytes and starts 64 a6 b5 0b.
 */
export function encodeRecord(type: number, payload: ValueMap): Buffer {
  throw new NotImplemented('5.1', 'encodeRecord in records.ts');
}

/**
 * The intact record at `offset` of `bytes`, or undefined if there is none there (spec section 4):
 * the 9 header bytes are there, length <= maxPayload, all `length` payload bytes are there, and
 * the crc matches. Never read past the end of `bytes`, whatever the length field says.
 */
export function intactAt(bytes: Buffer, offset: number, maxPayload = maxLogPayload): Intact | undefined {
  throw new NotImplemented('5.1', 'intactAt in records.ts');
}

/**
 * `end` is the first offset where no intact record begins. Returns the first offset q > end where
 * an intact record starts, or undefined if there is none (spec section 8, step 4): what tells real
 * damage from a torn tail.
 */
export function intactAfter(bytes: Buffer, end: number): number | undefined {
  if (end === bytes.length) return undefined;
  throw new NotImplemented('5.3', 'intactAfter in records.ts');
}

/** An intact record's payload as a map. Throws DecodeError if it is not one. */
export function decodePayload(record: Intact): ValueMap {
  const value = decodeValue(record.payload);
  if (!(value instanceof Map)) throw new DecodeError('the payload is not a map');
  return value;
}
