// The grader's own reading of spec/05-persistence.md's files, written from the spec and nothing
// else: records (section 4), the log's record types (section 5), the snapshot (section 9), and
// recovery's decision between a whole log, a torn tail and damage (section 8). Tests use it to
// find where records start (to damage them on purpose), to check what a server wrote, and to
// write logs of their own for a server to recover. It never imports student or solution code.
import path from 'node:path';
import zlib from 'node:zlib';
import { GradeFailure } from '../../../grader/harness/index.js';
import { decodeValue, encodeValue, show, type Value, type ValueMap } from '../../03-protocol/tests/wire.js';
import { readDataFileIfAny } from '../../../grader/harness/datafiles.js';

export const R = {
  ACCOUNT_CREATED: 1,
  MESSAGE_SENT: 2,
  MESSAGES_DELIVERED: 3,
  MESSAGES_DELETED: 4,
  ACCOUNT_DELETED: 5,
  SNAPSHOT: 16,
} as const;

const recordNames = new Map<number, string>(Object.entries(R).map(([name, n]) => [n, name]));

export function recordName(type: number): string {
  return `${recordNames.get(type) ?? 'unknown type'} (${type})`;
}

export const headerBytes = 9;
export const maxLogPayload = 1024 * 1024;

export interface Rec {
  offset: number;
  /** Offset of the byte after the record. */
  end: number;
  type: number;
  payload: ValueMap;
  index: bigint;
}

/** The bytes of one record: crc over length, type and payload. */
export function encodeRecord(type: number, payload: ValueMap): Buffer {
  return encodeRawRecord(type, encodeValue(payload));
}

/** An intact record around any payload bytes, a value or not. */
export function encodeRawRecord(type: number, body: Buffer): Buffer {
  const rest = Buffer.alloc(5);
  rest.writeUInt32BE(body.length, 0);
  rest[4] = type;
  const tail = Buffer.concat([rest, body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(tail), 0);
  return Buffer.concat([crc, tail]);
}

const sortedKeys = new Map<string, string[]>();

/**
 * The same bytes as encodeRecord for a map of strings, ints and lists of ints, written straight
 * into one buffer: fast enough to write a log of 100,000 records in a test.
 */
export function encodeFlatRecord(type: number, fields: Record<string, string | bigint | bigint[]>): Buffer {
  const given = Object.keys(fields);
  const id = given.join('\0');
  let keys = sortedKeys.get(id);
  if (!keys) sortedKeys.set(id, (keys = given.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))));
  const texts = new Map<string, Buffer>();
  let size = 9 + 5;
  for (const key of keys) {
    const value = fields[key]!;
    size += 5 + Buffer.byteLength(key);
    if (typeof value === 'string') {
      texts.set(key, Buffer.from(value, 'utf8'));
      size += 5 + texts.get(key)!.length;
    } else size += typeof value === 'bigint' ? 9 : 5 + 9 * value.length;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 9;
  const header = (tag: number, n: number) => {
    out[at] = tag;
    out.writeUInt32BE(n, at + 1);
    at += 5;
  };
  const int = (n: bigint) => {
    out[at] = 0;
    out.writeBigInt64BE(n, at + 1);
    at += 9;
  };
  header(3, keys.length);
  for (const key of keys) {
    header(1, Buffer.byteLength(key));
    at += out.write(key, at, 'utf8');
    const value = fields[key]!;
    if (typeof value === 'string') {
      const text = texts.get(key)!;
      header(1, text.length);
      at += text.copy(out, at);
    } else if (typeof value === 'bigint') int(value);
    else {
      header(2, value.length);
      for (const n of value) int(n);
    }
  }
  out.writeUInt32BE(size - 9, 4);
  out[8] = type;
  out.writeUInt32BE(zlib.crc32(out.subarray(4)), 0);
  return out;
}

/** True if an intact record starts at `offset` (spec section 4). */
export function intactAt(bytes: Buffer, offset: number, maxPayload = maxLogPayload): { end: number } | undefined {
  if (bytes.length - offset < headerBytes) return undefined;
  const length = bytes.readUInt32BE(offset + 4);
  const end = offset + headerBytes + length;
  if (length > maxPayload || end > bytes.length) return undefined;
  return zlib.crc32(bytes.subarray(offset + 4, end)) === bytes.readUInt32BE(offset) ? { end } : undefined;
}

export interface LogReading {
  records: Rec[];
  /** Where the intact records from offset 0 stop. */
  end: number;
  size: number;
  /** The first intact record after `end`, if any: damage, not a torn tail. */
  intactAfter: number | undefined;
}

/** Reads a log as recovery does (spec section 8, steps 3 and 4). */
export function readLogBytes(bytes: Buffer, what = 'the log'): LogReading {
  const records: Rec[] = [];
  let at = 0;
  for (let found = intactAt(bytes, at); found; found = intactAt(bytes, at)) {
    records.push(parseRecord(bytes, at, found.end, what));
    at = found.end;
  }
  let intactAfter: number | undefined;
  for (let q = at + 1; q + headerBytes <= bytes.length && intactAfter === undefined; q++) if (intactAt(bytes, q)) intactAfter = q;
  return { records, end: at, size: bytes.length, intactAfter };
}

function parseRecord(bytes: Buffer, offset: number, end: number, what: string): Rec {
  const type = bytes[offset + 8]!;
  let payload: Value;
  try {
    payload = decodeValue(bytes.subarray(offset + headerBytes, end));
  } catch (error) {
    throw new GradeFailure(`${what} holds an intact record at offset ${offset} (type ${type}) whose payload does not decode: ${(error as Error).message}`);
  }
  if (!(payload instanceof Map)) throw new GradeFailure(`${what} holds a record at offset ${offset} whose payload is ${show(payload)}, not a map`);
  const index = payload.get('index');
  if (typeof index !== 'bigint') throw new GradeFailure(`${what} holds a ${recordName(type)} record at offset ${offset} without an int "index": ${show(payload)}`);
  return { offset, end, type, payload, index };
}

/** The log of a data directory, which must be whole: every byte in intact records. */
export function readLog(dir: string): Rec[] {
  const file = path.join(dir, 'log');
  const bytes = readDataFileIfAny(file);
  if (!bytes) throw new GradeFailure(`the data directory ${dir} has no file named "log" (spec section 3)`);
  const reading = readLogBytes(bytes, 'the log');
  if (reading.end !== reading.size) {
    throw new GradeFailure(`the log is not whole: its intact records stop at offset ${reading.end} of ${reading.size} bytes, after a clean stop (spec sections 4 and 8)`);
  }
  return reading.records;
}

/** The log of a data directory as recovery reads it after a crash: its intact records up to a torn tail. */
export function readTornLog(dir: string): Rec[] {
  const file = path.join(dir, 'log');
  const bytes = readDataFileIfAny(file);
  if (!bytes) return [];
  const reading = readLogBytes(bytes, 'the log');
  if (reading.intactAfter !== undefined) throw new GradeFailure(`the log is damaged at offset ${reading.end}: an intact record follows at offset ${reading.intactAfter} (spec section 8)`);
  return reading.records;
}

/** The snapshot of a data directory, if it has one: one intact SNAPSHOT record. */
export function readSnapshot(dir: string): Rec | undefined {
  const file = path.join(dir, 'snapshot');
  const bytes = readDataFileIfAny(file);
  if (!bytes) return undefined;
  const found = intactAt(bytes, 0, 0xffff_ffff);
  if (!found || found.end !== bytes.length) throw new GradeFailure(`the snapshot file is not one intact record (spec section 9): ${bytes.length} bytes`);
  const record = parseRecord(bytes, 0, found.end, 'the snapshot');
  if (record.type !== R.SNAPSHOT) throw new GradeFailure(`the snapshot's record has type ${record.type}, not ${R.SNAPSHOT} (SNAPSHOT)`);
  return record;
}

// ---------------------------------------------------------------- the state the files describe

export interface Waiting {
  id: bigint;
  from: string;
  text: string;
}

export interface State {
  /** Accounts by name: their password text and number. */
  accounts: Map<string, { password: string; number: bigint; queue: Waiting[] }>;
  lastIndex: bigint;
}

/**
 * The state a data directory recovers to, by the spec's rules. The log must be whole, or with
 * `tornTail`, may end in a torn tail (which recovery drops), as a crash leaves it.
 */
export function recoveredState(dir: string, options: { tornTail?: boolean } = {}): State {
  const state: State = { accounts: new Map(), lastIndex: 0n };
  const snapshot = readSnapshot(dir);
  if (snapshot) {
    state.lastIndex = snapshot.index;
    const accounts = snapshot.payload.get('accounts');
    if (!Array.isArray(accounts)) throw new GradeFailure(`the snapshot has no list "accounts": ${show(snapshot.payload)}`);
    let previous: string | undefined;
    for (const a of accounts) {
      if (!(a instanceof Map)) throw new GradeFailure(`an account in the snapshot is ${show(a)}, not a map`);
      const queue = a.get('queue');
      const name = a.get('name');
      const password = a.get('password');
      const number = a.get('number');
      if (typeof name !== 'string' || typeof password !== 'string' || typeof number !== 'bigint' || !Array.isArray(queue)) {
        throw new GradeFailure(`an account in the snapshot must be {name, password, number, queue}; it is ${show(a)}`);
      }
      // Section 9's order: accounts by name, each queue oldest first (replay keeps queues in that order).
      if (previous !== undefined && Buffer.compare(Buffer.from(previous), Buffer.from(name)) >= 0) {
        throw new GradeFailure(`the snapshot lists account ${JSON.stringify(name)} after ${JSON.stringify(previous)}: its accounts are in ascending order of name, each once (spec section 9)`);
      }
      previous = name;
      const waiting = queue.map((m) => {
        if (!(m instanceof Map) || typeof m.get('id') !== 'bigint' || typeof m.get('from') !== 'string' || typeof m.get('text') !== 'string' || typeof m.get('sender') !== 'bigint') {
          throw new GradeFailure(`a waiting message in the snapshot must be {id, from, text, sender}; it is ${show(m)}`);
        }
        return { id: m.get('id') as bigint, from: m.get('from') as string, text: m.get('text') as string };
      });
      for (let i = 1; i < waiting.length; i++) {
        if (waiting[i - 1]!.id >= waiting[i]!.id) {
          throw new GradeFailure(
            `the snapshot's queue for ${JSON.stringify(name)} holds message ${waiting[i]!.id} after message ${waiting[i - 1]!.id} (ids ${waiting.map((m) => m.id).join(', ')}): a queue is oldest first, messages in flight in their place (spec section 9)`,
          );
        }
      }
      state.accounts.set(name, { password, number, queue: waiting });
    }
  }
  for (const record of options.tornTail ? readTornLog(dir) : readLog(dir)) {
    if (record.index <= state.lastIndex) continue;
    if (record.index !== state.lastIndex + 1n) throw new GradeFailure(`the log's record at offset ${record.offset} has index ${record.index}, where ${state.lastIndex + 1n} comes next (spec section 5)`);
    applyRecord(state, record);
    state.lastIndex = record.index;
  }
  return state;
}

function field(record: Rec, key: string, kind: 'string' | 'int' | 'ints'): Value {
  const value = record.payload.get(key);
  const ok = kind === 'string' ? typeof value === 'string' : kind === 'int' ? typeof value === 'bigint' : Array.isArray(value) && value.every((v) => typeof v === 'bigint');
  if (!ok) throw new GradeFailure(`a ${recordName(record.type)} record at offset ${record.offset} needs "${key}" (${kind === 'ints' ? 'a list of ints' : `a ${kind}`}); it is ${show(record.payload)}`);
  return value!;
}

function applyRecord(state: State, record: Rec): void {
  const remove = (ids: bigint[]) => {
    for (const account of state.accounts.values()) account.queue = account.queue.filter((m) => !ids.includes(m.id));
  };
  switch (record.type) {
    case R.ACCOUNT_CREATED:
      state.accounts.set(field(record, 'name', 'string') as string, { password: field(record, 'password', 'string') as string, number: record.index, queue: [] });
      return;
    case R.MESSAGE_SENT: {
      const to = state.accounts.get(field(record, 'to', 'string') as string);
      if (!to) throw new GradeFailure(`a MESSAGE_SENT record at offset ${record.offset} is for ${show(record.payload.get('to')!)}, which is no account at that point of the log`);
      to.queue.push({ id: record.index, from: field(record, 'from', 'string') as string, text: field(record, 'text', 'string') as string });
      return;
    }
    case R.MESSAGES_DELIVERED:
    case R.MESSAGES_DELETED:
      remove(field(record, 'ids', 'ints') as bigint[]);
      return;
    case R.ACCOUNT_DELETED:
      state.accounts.delete(field(record, 'name', 'string') as string);
      return;
    default:
      throw new GradeFailure(`the log holds a record of unknown type ${record.type} at offset ${record.offset} (spec section 5)`);
  }
}
