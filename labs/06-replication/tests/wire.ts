// The grader's reading of spec/06-replication.md's messages, written from the spec: the type
// numbers lab 6 adds to lab 3's, REPLICA_STATE checked field by field, a log's bytes and digests
// (section 5.2), and a decoder that turns the bytes crossing one replica-to-replica link into
// messages, chunk by chunk (for the traces of the proxies the grader puts between replicas). Pure functions and data: nothing here touches a
// socket or the harness, and nothing imports student or solution code.
import { createHash } from 'node:crypto';
import { T, WireError, decodeValue, headerBytes, map, maxPayload, message, show, type Value, type ValueMap } from '../../03-protocol/tests/wire.js';
import { encodeRecord } from '../../05-persistence/tests/logfile.js';

export { T, map, message, show, type Value, type ValueMap };

/** Lab 6's types (spec section 3). */
export const T6 = {
  STATUS: 10,
  REPLICA_STATE: 110,
  HEARTBEAT: 200,
  APPEND: 201,
  APPENDED: 202,
  MISMATCH: 203,
  ELECTION: 204,
  ELECTED: 205,
} as const;

const names = new Map<number, string>([...Object.entries(T), ...Object.entries(T6)].map(([name, n]) => [n, name]));

export function typeName6(type: number | bigint): string {
  const name = names.get(Number(type));
  return name ? `${name} (${type})` : `type ${type}`;
}

export type Role = 'primary' | 'backup' | 'candidate';

/** One REPLICA_STATE, checked (spec section 3.1). */
export interface Status {
  id: number;
  role: Role;
  primary: number;
  last: number;
  commit: number;
  alive: number[];
}

/** The request that asks any replica for its state. */
export const statusRequest = (): Buffer => message(T6.STATUS, map());

/**
 * A REPLICA_STATE payload as a Status, or a sentence saying what is wrong with it (spec section
 * 3.1: the six keys, their kinds, the role's three words).
 */
export function parseStatus(value: Value): Status | string {
  if (!(value instanceof Map)) return `REPLICA_STATE must be a map; it is ${show(value)}`;
  const int = (key: string): number | string => {
    const v = value.get(key);
    if (typeof v !== 'bigint') return `REPLICA_STATE must have an int "${key}"; it is ${show(value)}`;
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) return `REPLICA_STATE's "${key}" must be a non-negative int; it is ${v}`;
    return Number(v);
  };
  const fields = ['id', 'primary', 'last', 'commit'].map(int);
  const bad = fields.find((f) => typeof f === 'string');
  if (bad !== undefined) return bad as string;
  const [id, primary, last, commit] = fields as number[];
  const role = value.get('role');
  if (role !== 'primary' && role !== 'backup' && role !== 'candidate') {
    return `REPLICA_STATE's "role" must be "primary", "backup" or "candidate"; it is ${role === undefined ? 'missing' : show(role)}`;
  }
  const alive = value.get('alive');
  if (!Array.isArray(alive) || !alive.every((a) => typeof a === 'bigint')) return `REPLICA_STATE must have "alive", a list of ints; it is ${show(value)}`;
  return { id: id!, role, primary: primary!, last: last!, commit: commit!, alive: (alive as bigint[]).map(Number) };
}

export function describeStatus(s: Status): string {
  const follows = s.role === 'primary' ? 'primary' : s.primary === 0 ? `${s.role}, no primary` : `${s.role} of ${s.primary}`;
  return `replica ${s.id}: ${follows}, log ${s.last}, commit ${s.commit}, alive [${s.alive.join(', ')}]`;
}

/** One message decoded from a byte stream. */
export interface Decoded {
  type: number;
  name: string;
  /** The payload, when it decodes. */
  value?: Value;
  /** Why it does not, when it does not. */
  error?: string;
  /** The frame's size, header included. */
  bytes: number;
}

/**
 * Decodes one direction of one connection, chunk by chunk, into messages: lab 3 frames, lab 6's
 * types named. Stateful: a frame split across chunks comes out once its last byte has arrived. A
 * header over the maximum ends the stream (framing is lost), reported once as a message with an
 * error; everything after it is ignored.
 */
export class MessageDecoder {
  private buffered: Buffer = Buffer.alloc(0);
  private lost = false;

  push(chunk: Buffer): Decoded[] {
    if (this.lost) return [];
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const out: Decoded[] = [];
    while (this.buffered.length >= headerBytes) {
      const type = Number(this.buffered.readBigInt64BE(0));
      const length = this.buffered.readUInt32BE(8);
      if (length > maxPayload) {
        this.lost = true;
        this.buffered = Buffer.alloc(0);
        out.push({ type, name: typeName6(type), error: `a header announcing ${length} payload bytes, over the maximum: framing is lost`, bytes: headerBytes });
        break;
      }
      if (this.buffered.length < headerBytes + length) break;
      const payload = this.buffered.subarray(headerBytes, headerBytes + length);
      this.buffered = this.buffered.subarray(headerBytes + length);
      const decoded: Decoded = { type, name: typeName6(type), bytes: headerBytes + length };
      try {
        decoded.value = decodeValue(payload);
      } catch (error) {
        if (!(error instanceof WireError)) throw error;
        decoded.error = error.message;
      }
      out.push(decoded);
    }
    return out;
  }
}

/** A decoded message in one line, for traces and failures: "APPEND (201) {from: 1, prev: 4, ...}". */
export function describeMessage(m: Decoded, max = 160): string {
  if (m.error !== undefined) return `${m.name}: ${m.error}`;
  return `${m.name} ${show(m.value!, max)}`;
}

/** The `from` of a replica message, if it has an int one. */
export function senderOf(value: Value | undefined): number | undefined {
  const from = value instanceof Map ? value.get('from') : undefined;
  return typeof from === 'bigint' ? Number(from) : undefined;
}

export function asMap(value: Value | undefined): ValueMap | undefined {
  return value instanceof Map ? value : undefined;
}

/** digest(i) from digest(i − 1) and the bytes of record i. */
export function nextDigest(previous: bigint, record: Buffer): bigint {
  const before = Buffer.alloc(8);
  before.writeBigInt64BE(previous);
  return createHash('sha256').update(before).update(record).digest().readBigInt64BE(0);
}

/** A record of a log: its type and payload, `index` included (and in lab 7 `term`). */
export interface LogEntry {
  type: number;
  record: ValueMap;
}

export function entry(type: number, fields: Record<string, Value>): LogEntry {
  return { type, record: map(fields) };
}

/** The bytes of a log of these records, one after another (lab 5's format). */
export function logBytes(entries: LogEntry[]): Buffer {
  return Buffer.concat(entries.map((e) => encodeRecord(e.type, e.record)));
}

/** digest(0), digest(1), ..., digest(n) of a log of these records. */
export function digests(entries: LogEntry[]): bigint[] {
  const out = [0n];
  for (const e of entries) out.push(nextDigest(out[out.length - 1]!, encodeRecord(e.type, e.record)));
  return out;
}

/** An entry as APPEND carries it: {type, record}. */
export function entryValue(e: LogEntry): ValueMap {
  return map({ type: BigInt(e.type), record: e.record });
}
