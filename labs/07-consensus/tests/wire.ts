// The grader's reading of spec/07-consensus.md's messages, written from the spec: the types lab 7
// adds to lab 6's, records with terms (a log's bytes and digests are lab 6's, in its wire.ts), and
// a decoder that names lab 7's types, for traces and for the proxies' watch on terms. Pure
// functions and data: nothing here touches a socket or the harness, and nothing imports student or
// solution code.
import { MessageDecoder as Lab6Decoder, T6, type Decoded } from '../../06-replication/tests/wire.js';
import { T, map, message, show, type Value, type ValueMap } from '../../03-protocol/tests/wire.js';

export { T, T6, map, message, show, type Value, type ValueMap, type Decoded };
export { digests, entry, entryValue, logBytes, nextDigest, type LogEntry } from '../../06-replication/tests/wire.js';

/** Lab 7's types (spec section 4): lab 6's, and three more between replicas. */
export const T7 = {
  ...T6,
  VOTE_REQUEST: 206,
  VOTE: 207,
  INSTALL_SNAPSHOT: 208,
} as const;

/** Record types (spec/05-persistence.md, section 5, and lab 7's TERM_STARTED). */
export const R7 = {
  ACCOUNT_CREATED: 1,
  MESSAGE_SENT: 2,
  MESSAGES_DELIVERED: 3,
  MESSAGES_DELETED: 4,
  ACCOUNT_DELETED: 5,
  TERM_STARTED: 6,
  SNAPSHOT: 16,
} as const;

const names = new Map<number, string>([...Object.entries(T), ...Object.entries(T7)].map(([name, n]) => [n, name]));

export function typeName7(type: number | bigint): string {
  const name = names.get(Number(type));
  return name ? `${name} (${type})` : `type ${type}`;
}

/** Lab 6's decoder, with lab 7's types named. */
export class MessageDecoder {
  private readonly inner = new Lab6Decoder();

  push(chunk: Buffer): Decoded[] {
    return this.inner.push(chunk).map((m) => ({ ...m, name: typeName7(m.type) }));
  }
}

/** An int field of a decoded message, or undefined. */
export function intOf(value: Value | undefined, key: string): bigint | undefined {
  const v = value instanceof Map ? value.get(key) : undefined;
  return typeof v === 'bigint' ? v : undefined;
}

/** A decoded message in one line: "APPEND (201) {from: 1, term: 3, ...}". */
export function describeMessage(m: Decoded, max = 160): string {
  if (m.error !== undefined) return `${m.name}: ${m.error}`;
  return `${m.name} ${show(m.value!, max)}`;
}
