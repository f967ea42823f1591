// The messages of the protocol (spec/03-protocol.md, sections 4 to 6, spec/06-replication.md,
// section 3, and spec/07-consensus.md, section 4): type numbers, error codes, and the checks that turn a decoded payload into the fields
// a request needs. A payload that decodes can still be the wrong shape (a list instead of a map, a
// missing key, an int where a string belongs); every such case is a `bad-request` error reply,
// never a crash.
import { valueMap, type Value, type ValueMap } from './values.js';

/** Message types. The header carries an int64, so they are bigints. */
export const Type = {
  PING: 1n,
  CREATE_ACCOUNT: 2n,
  LOGIN: 3n,
  LOGOUT: 4n,
  LIST_ACCOUNTS: 5n,
  SEND: 6n,
  READ: 7n,
  DELETE_MESSAGES: 8n,
  DELETE_ACCOUNT: 9n,
  STATUS: 10n,
  ERROR: 100n,
  PONG: 101n,
  ACCOUNT_CREATED: 102n,
  LOGGED_IN: 103n,
  LOGGED_OUT: 104n,
  ACCOUNTS: 105n,
  SENT: 106n,
  MESSAGES: 107n,
  DELETED: 108n,
  ACCOUNT_DELETED: 109n,
  REPLICA_STATE: 110n,
  MESSAGE: 150n,
  // Between replicas (spec/07-consensus.md, section 4): never answered on their connection.
  HEARTBEAT: 200n,
  APPEND: 201n,
  APPENDED: 202n,
  MISMATCH: 203n,
  ELECTION: 204n,
  ELECTED: 205n,
  VOTE_REQUEST: 206n,
  VOTE: 207n,
  INSTALL_SNAPSHOT: 208n,
} as const;

export function isRequestType(type: bigint): boolean {
  return type >= Type.PING && type <= Type.STATUS;
}

export function isReplicaMessage(type: bigint): boolean {
  return type >= Type.HEARTBEAT && type <= Type.INSTALL_SNAPSHOT;
}

export type ErrorCode =
  | 'frame-too-large'
  | 'unknown-type'
  | 'bad-payload'
  | 'bad-request'
  | 'not-logged-in'
  | 'already-logged-in'
  | 'bad-name'
  | 'name-taken'
  | 'login-failed'
  | 'account-busy'
  | 'no-such-account'
  | 'not-primary';

/** A request that fails: the connection answers it with an ERROR reply and goes on. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export interface Reply {
  type: bigint;
  payload: ValueMap;
  /** The ids of the messages this frame delivers (a MESSAGES reply): recorded once it is written. */
  delivers?: bigint[];
}

export function errorReply(error: ProtocolError): Reply {
  return { type: Type.ERROR, payload: valueMap({ code: error.code, message: error.message }) };
}

/** ERROR not-primary, naming the primary this replica follows when it knows one. */
export function notPrimary(primary: { id: number; address: string } | undefined): Reply {
  const fields: Record<string, Value> = { code: 'not-primary', message: primary ? `replica ${primary.id} is the primary` : 'there is no primary yet' };
  if (primary) Object.assign(fields, { primary: BigInt(primary.id), address: primary.address });
  return { type: Type.ERROR, payload: valueMap(fields) };
}

/** A direct message, as MESSAGE frames and MESSAGES replies carry it. */
export interface Message {
  from: string;
  id: bigint;
  text: string;
}

export function messageValue(message: Message): ValueMap {
  return valueMap({ from: message.from, id: message.id, text: message.text });
}

// ---- Reading a request's payload. Keys the spec does not list are ignored, not refused.

export function asMap(payload: Value): ValueMap {
  if (!(payload instanceof Map)) throw new ProtocolError('bad-request', 'the payload must be a map');
  return payload;
}

export function anyField(payload: ValueMap, key: string): Value {
  const value = payload.get(key);
  if (value === undefined) throw new ProtocolError('bad-request', `the key "${key}" is missing`);
  return value;
}

export function stringField(payload: ValueMap, key: string): string {
  const value = anyField(payload, key);
  if (typeof value !== 'string') throw new ProtocolError('bad-request', `"${key}" must be a string`);
  return value;
}

export function intField(payload: ValueMap, key: string): bigint {
  const value = anyField(payload, key);
  if (typeof value !== 'bigint') throw new ProtocolError('bad-request', `"${key}" must be an int`);
  return value;
}

export function intListField(payload: ValueMap, key: string): bigint[] {
  const value = anyField(payload, key);
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'bigint')) {
    throw new ProtocolError('bad-request', `"${key}" must be a list of ints`);
  }
  return value as bigint[];
}
