// Records (spec/05-persistence.md, sections 4 and 5): the unit of the log and of a snapshot.
//
//   crc (u32 BE)   length (u32 BE)   type (1 byte)   payload (`length` bytes: one value, a map)
//
// The CRC-32 covers everything after itself: the length, the type and the payload. So a record is
// *intact* exactly when all its bytes are there and the checksum over them matches; a damaged
// length is caught like any other damaged byte. Whether an intact record says something sensible
// (a known type, the fields its type needs) is the reader's next question, not this file's.
import zlib from 'node:zlib';
import { decodeValue } from './decode.js';
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

export function encodeRecord(type: number, payload: ValueMap): Buffer {
  const body = encodeValue(payload);
  const record = Buffer.alloc(recordHeaderBytes + body.length);
  record.writeUInt32BE(body.length, 4);
  record[8] = type;
  body.copy(record, recordHeaderBytes);
  record.writeUInt32BE(zlib.crc32(record.subarray(4)), 0);
  return record;
}

/** The intact record at `offset` of `bytes`, or undefined if there is none there. */
export function intactAt(bytes: Buffer, offset: number, maxPayload = maxLogPayload): Intact | undefined {
  if (bytes.length - offset < recordHeaderBytes) return undefined;
  const length = bytes.readUInt32BE(offset + 4);
  const end = offset + recordHeaderBytes + length;
  if (length > maxPayload || end > bytes.length) return undefined;
  if (zlib.crc32(bytes.subarray(offset + 4, end)) !== bytes.readUInt32BE(offset)) return undefined;
  return { offset, end, type: bytes[offset + 8]!, payload: bytes.subarray(offset + recordHeaderBytes, end) };
}

/**
 * `end` is the first offset where no intact record begins. Returns the first offset after it at
 * which one does, or undefined (spec section 8, step 4): damage is followed by intact records, a
 * torn tail is not.
 * Most offsets fail at once: their length field points past the end of the file, or over the
 * maximum.
 */
export function intactAfter(bytes: Buffer, end: number): number | undefined {
  for (let q = end + 1; q + recordHeaderBytes <= bytes.length; q++) {
    if (intactAt(bytes, q)) return q;
  }
  return undefined;
}

/** An intact record's payload as a map. Throws DecodeError if it is not one. */
export function decodePayload(record: Intact): ValueMap {
  const value = decodeValue(record.payload);
  if (!(value instanceof Map)) throw new DecodeError('the payload is not a map');
  return value;
}
