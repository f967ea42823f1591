// The messaging service of lab 3 (spec/03-protocol.md, sections 5, 7, 8 and 9), made durable
// (spec/05-persistence.md, sections 5 to 7), with lab 6's exactly-once SEND (spec/06-replication.md,
// section 8) and lab 7's snapshots, which carry the table of (client, seq) too (spec/07-consensus.md,
// section 10). Still no I/O in it: requests in, replies out, and every change of state written as
// a record through a Journal (the Store).
//
// One rule shapes this file: **every change of state is a record, and apply() is the only code
// that changes state.** A request handler checks the request, works out the outcome (the salted
// hash, the ids it deletes), and calls commit(), which appends the record and applies it. On
// start, recovery calls apply() with the same records in the same order, so the state it rebuilds
// is the state the server had. apply() checks nothing and decides nothing: the record says it.
//
// Delivery (section 7): a message pushed or returned by READ leaves its queue at once and waits
// "in flight" until its frame is written; only then does delivered() record it. If the frame is
// never written (its connection closed while the frame was held), undelivered() puts the message
// back in its queue. A crash before the MESSAGES_DELIVERED record is synced leaves the message
// queued after the restart: at least once across a crash, exactly once otherwise.
//
// Exactly-once SEND: a SEND may carry (client, seq). Its MESSAGE_SENT record keeps them, so every
// replica that applies the log knows, for each client, the ids its recent SENDs got. A SEND seen
// before is answered with its old id and appends nothing: a client retrying after a failover cannot
// make a message twice.
import { encodeValue } from './encode.js';
import { maxPayload } from './frames.js';
import { Type, ProtocolError, anyField, asMap, intField, intListField, messageValue, stringField, type Message, type Reply } from './messages.js';
import { checkPassword, hashPassword } from './passwords.js';
import { RecordType } from './records.js';
import { brief, valueMap, type Value, type ValueMap } from './values.js';
import { matches } from './wildcard.js';

/** One connection, as the service sees it. */
export interface Session {
  /** The account this connection is logged in as; the service sets it. */
  account: string | undefined;
  /** Sends a MESSAGE frame on this connection; false if it cannot (the connection is closing). */
  push(message: Message): boolean;
}

/** Where records go: the Store appends them and gives each the next index. */
export interface Journal {
  append(type: number, fields: ValueMap): bigint;
}

interface Account {
  name: string;
  /** The salted hash, as the log keeps it. */
  password: string;
  /** The index of the record that created it: who the account is, since names can be reused. */
  number: bigint;
  queue: Waiting[];
  session: Session | undefined;
}

interface Waiting {
  message: Message;
  /** The sending account's number: a later account of the same name is someone else. */
  sender: bigint;
  recipient: Account;
}

const namePattern = /^[A-Za-z0-9_.-]{1,32}$/;
export const maxTextBytes = 65_536;
/** SENDs remembered per client: the ones with the highest seq. */
export const rememberedSends = 64;

type Handler = (session: Session, payload: ValueMap) => Reply;

export class Service {
  private readonly accounts = new Map<string, Account>();
  /** Every waiting message by id, for DELETE_MESSAGES and MESSAGES_DELIVERED. */
  private readonly waiting = new Map<bigint, Waiting>();
  /** Messages whose frame is written but not yet recorded as delivered, or held, by id. */
  private readonly inFlight = new Map<bigint, Waiting>();
  /** For each client number: seq -> the id its SEND got. Replicated: rebuilt from the records. */
  private readonly clients = new Map<bigint, Map<bigint, bigint>>();

  constructor(private readonly journal: Journal) {}

  /** The requests, with whether each needs a login (section 7). */
  private readonly handlers = new Map<bigint, { needsLogin: boolean; handle: Handler }>([
    [Type.PING, { needsLogin: false, handle: (s, p) => this.ping(p) }],
    [Type.CREATE_ACCOUNT, { needsLogin: false, handle: (s, p) => this.createAccount(p) }],
    [Type.LOGIN, { needsLogin: false, handle: (s, p) => this.login(s, p) }],
    [Type.LOGOUT, { needsLogin: true, handle: (s) => this.logout(s) }],
    [Type.LIST_ACCOUNTS, { needsLogin: true, handle: (s, p) => this.listAccounts(p) }],
    [Type.SEND, { needsLogin: true, handle: (s, p) => this.send(s, p) }],
    [Type.READ, { needsLogin: true, handle: (s, p) => this.read(s, p) }],
    [Type.DELETE_MESSAGES, { needsLogin: true, handle: (s, p) => this.deleteMessages(s, p) }],
    [Type.DELETE_ACCOUNT, { needsLogin: true, handle: (s) => this.deleteAccount(s) }],
  ]);

  /** Answers one decoded request. The connection has already refused unknown types. */
  handle(session: Session, type: bigint, payload: Value): Reply {
    const handler = this.handlers.get(type);
    if (!handler) throw new ProtocolError('unknown-type', `${type} is not a request type`);
    if (handler.needsLogin && session.account === undefined) throw new ProtocolError('not-logged-in', 'log in first');
    return handler.handle(session, asMap(payload));
  }

  /** The connection closed: it is logged out. Its account's messages wait for the next login. */
  disconnect(session: Session): void {
    const account = this.loggedIn(session);
    if (account) account.session = undefined;
    session.account = undefined;
  }

  // ---- Changes of state: commit() when live, apply() for both live and replayed records.

  private commit(type: number, fields: Record<string, Value>): bigint {
    const index = this.journal.append(type, valueMap(fields));
    this.apply(type, new Map([...Object.entries(fields), ['index', index]]));
    return index;
  }

  /** Applies one record (spec/05-persistence.md, section 5). Throws ProtocolError if a field is missing. */
  apply(type: number, record: ValueMap): void {
    const index = intField(record, 'index');
    switch (type) {
      case RecordType.ACCOUNT_CREATED: {
        const name = stringField(record, 'name');
        this.accounts.set(name, { name, password: stringField(record, 'password'), number: index, queue: [], session: undefined });
        return;
      }
      case RecordType.MESSAGE_SENT: {
        const sender = this.account(stringField(record, 'from'));
        const recipient = this.account(stringField(record, 'to'));
        this.enqueue({ message: { from: sender.name, id: index, text: stringField(record, 'text') }, sender: sender.number, recipient });
        if (record.has('client')) this.remember(intField(record, 'client'), intField(record, 'seq'), index);
        return;
      }
      case RecordType.MESSAGES_DELIVERED:
      case RecordType.MESSAGES_DELETED:
        for (const id of intListField(record, 'ids')) this.unqueue(id);
        return;
      case RecordType.ACCOUNT_DELETED: {
        const account = this.account(stringField(record, 'name'));
        for (const entry of account.queue) this.waiting.delete(entry.message.id);
        if (account.session) this.disconnect(account.session);
        this.accounts.delete(account.name);
        return;
      }
      case RecordType.TERM_STARTED:
        // A new primary's first record: it changes no state, and commits the records before it.
        return;
      case RecordType.SNAPSHOT:
        this.load(record);
        return;
      default:
        throw new ProtocolError('bad-request', `unknown record type ${type}`);
    }
  }

  /**
   * The whole state as a SNAPSHOT payload (spec/05-persistence.md, section 9, with lab 7's
   * `clients`), without the index, term and digest, which the Store adds.
   */
  snapshot(): ValueMap {
    const accounts = [...this.accounts.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    const inFlight = [...this.inFlight.values()];
    const clients = [...this.clients].sort(([a], [b]) => compareIds(a, b));
    return valueMap({
      // Messages in flight are not yet recorded as delivered, so the snapshot keeps them queued.
      accounts: accounts.map((account) => {
        const queue = [...inFlight.filter((entry) => entry.recipient === account), ...account.queue].sort(byId);
        const messages = queue.map(({ message, sender }) => valueMap({ id: message.id, from: message.from, text: message.text, sender }));
        return valueMap({ name: account.name, password: account.password, number: account.number, queue: messages });
      }),
      clients: clients.map(([client, sends]) =>
        valueMap({ client, sends: [...sends].sort(([a], [b]) => compareIds(a, b)).map(([seq, id]) => valueMap({ seq, id })) }),
      ),
    });
  }

  private load(snapshot: ValueMap): void {
    const accounts = anyField(snapshot, 'accounts');
    if (!Array.isArray(accounts)) throw new ProtocolError('bad-request', '"accounts" must be a list');
    for (const item of accounts) {
      const fields = asMap(item);
      const account: Account = { name: stringField(fields, 'name'), password: stringField(fields, 'password'), number: intField(fields, 'number'), queue: [], session: undefined };
      this.accounts.set(account.name, account);
      const queue = anyField(fields, 'queue');
      if (!Array.isArray(queue)) throw new ProtocolError('bad-request', '"queue" must be a list');
      for (const entry of queue.map(asMap)) {
        const message = { from: stringField(entry, 'from'), id: intField(entry, 'id'), text: stringField(entry, 'text') };
        this.enqueue({ message, sender: intField(entry, 'sender'), recipient: account });
      }
    }
    // A snapshot written before lab 7 has no table of clients.
    const clients = snapshot.get('clients') ?? [];
    if (!Array.isArray(clients)) throw new ProtocolError('bad-request', '"clients" must be a list');
    for (const item of clients) {
      const fields = asMap(item);
      const sends = anyField(fields, 'sends');
      if (!Array.isArray(sends)) throw new ProtocolError('bad-request', '"sends" must be a list');
      for (const send of sends.map(asMap)) this.remember(intField(fields, 'client'), intField(send, 'seq'), intField(send, 'id'));
    }
  }

  private account(name: string): Account {
    const account = this.accounts.get(name);
    if (!account) throw new ProtocolError('bad-request', `the record names ${brief(name)}, which is not an account`);
    return account;
  }

  private enqueue(entry: Waiting): void {
    entry.recipient.queue.push(entry);
    this.waiting.set(entry.message.id, entry);
  }

  /** Takes a message out of its queue (no record: the caller commits one, or is replaying it). */
  private unqueue(id: bigint): Waiting | undefined {
    const entry = this.waiting.get(id);
    if (!entry) return undefined;
    const queue = entry.recipient.queue;
    queue.splice(queue.indexOf(entry), 1);
    this.waiting.delete(id);
    return entry;
  }

  // ---- Delivery, reported by the connection (section 7).

  /** These messages' frames were written to their connection: record them as delivered. */
  delivered(ids: bigint[]): void {
    for (const id of ids) this.inFlight.delete(id);
    if (ids.length > 0) this.commit(RecordType.MESSAGES_DELIVERED, { ids: [...ids].sort(compareIds) });
  }

  /** These messages' frames were never written: they wait again, ahead of newer ones. */
  undelivered(ids: bigint[]): void {
    for (const id of ids) {
      const entry = this.inFlight.get(id);
      this.inFlight.delete(id);
      // A recipient deleted meanwhile took its messages with it.
      if (!entry || this.accounts.get(entry.recipient.name) !== entry.recipient) continue;
      this.enqueue(entry);
      entry.recipient.queue.sort(byId);
    }
  }

  private takeForDelivery(entry: Waiting): void {
    this.unqueue(entry.message.id);
    this.inFlight.set(entry.message.id, entry);
  }

  // ---- The requests.

  private ping(payload: ValueMap): Reply {
    return { type: Type.PONG, payload: valueMap({ value: anyField(payload, 'value') }) };
  }

  private createAccount(payload: ValueMap): Reply {
    const name = stringField(payload, 'name');
    const password = passwordField(payload);
    if (!namePattern.test(name)) throw new ProtocolError('bad-name', 'a name is 1 to 32 letters, digits, "_", "." or "-"');
    if (this.accounts.has(name)) throw new ProtocolError('name-taken', `${name} is taken`);
    this.commit(RecordType.ACCOUNT_CREATED, { name, password: hashPassword(password) });
    return { type: Type.ACCOUNT_CREATED, payload: valueMap({ name }) };
  }

  private login(session: Session, payload: ValueMap): Reply {
    const name = stringField(payload, 'name');
    const password = passwordField(payload);
    if (session.account !== undefined) throw new ProtocolError('already-logged-in', `already logged in as ${session.account}`);
    const account = this.accounts.get(name);
    // One answer for "no such name" and "wrong password": a stranger learns nothing about names.
    if (!account || !checkPassword(password, account.password)) throw new ProtocolError('login-failed', 'wrong name or password');
    if (account.session) throw new ProtocolError('account-busy', `${name} is logged in on another connection`);
    account.session = session;
    session.account = name;
    return { type: Type.LOGGED_IN, payload: valueMap({ name, waiting: BigInt(account.queue.length) }) };
  }

  private logout(session: Session): Reply {
    this.disconnect(session);
    return { type: Type.LOGGED_OUT, payload: new Map() };
  }

  private listAccounts(payload: ValueMap): Reply {
    const pattern = stringField(payload, 'pattern');
    // Names are ASCII, so the default string order is their byte order.
    const names = [...this.accounts.keys()].filter((name) => matches(pattern, name)).sort();
    return { type: Type.ACCOUNTS, payload: valueMap({ names }) };
  }

  private send(session: Session, payload: ValueMap): Reply {
    const to = stringField(payload, 'to');
    const text = stringField(payload, 'text');
    if (Buffer.byteLength(text, 'utf8') > maxTextBytes) throw new ProtocolError('bad-request', `a text is at most ${maxTextBytes} bytes`);
    const retry = retryKey(payload);
    if (retry) {
      // Seen before: the message exists already. The same answer, and nothing appended.
      const id = this.sentBefore(retry.client, retry.seq);
      if (id !== undefined) return { type: Type.SENT, payload: valueMap({ id }) };
    }
    const recipient = this.accounts.get(to);
    if (!recipient) throw new ProtocolError('no-such-account', `no account is named ${brief(to)}`);
    const sender = this.loggedIn(session)!;
    const id = this.commit(RecordType.MESSAGE_SENT, { from: sender.name, to, text, ...(retry ?? {}) });
    // Pushed only if nothing older waits, so that the recipient gets its messages in order. The
    // connection holds the push until the record is synced, like every frame.
    const entry = this.waiting.get(id)!;
    if (recipient.session && recipient.queue.length === 1 && recipient.session.push(entry.message)) this.takeForDelivery(entry);
    return { type: Type.SENT, payload: valueMap({ id }) };
  }

  /**
   * The id the SEND (client, seq) got, if it was applied; undefined for a new one. A seq older than
   * every one remembered is refused: no client may retry that far back.
   */
  private sentBefore(client: bigint, seq: bigint): bigint | undefined {
    const sends = this.clients.get(client);
    if (!sends) return undefined;
    const id = sends.get(seq);
    if (id !== undefined) return id;
    if (sends.size >= rememberedSends && seq < minKey(sends)) throw new ProtocolError('bad-request', `seq ${seq} is older than any SEND this client may retry`);
    return undefined;
  }

  /** Replaying a MESSAGE_SENT record with (client, seq): its id is remembered, the oldest forgotten. */
  private remember(client: bigint, seq: bigint, id: bigint): void {
    const sends = this.clients.get(client) ?? new Map<bigint, bigint>();
    this.clients.set(client, sends);
    sends.set(seq, id);
    if (sends.size > rememberedSends) sends.delete(minKey(sends));
  }

  private read(session: Session, payload: ValueMap): Reply {
    const limit = intField(payload, 'limit');
    if (limit < 1n) throw new ProtocolError('bad-request', '"limit" must be at least 1');
    const account = this.loggedIn(session)!;
    // Take the oldest messages while the reply stays within one frame; `envelope` covers the rest
    // of the reply (its keys, the list header, "remaining"). A message is at most 64 KiB, so at
    // least one always fits.
    const envelope = 64;
    const taken: Waiting[] = [];
    let size = envelope;
    for (const entry of account.queue) {
      if (BigInt(taken.length) >= limit) break;
      size += encodeValue(messageValue(entry.message)).length;
      if (size > maxPayload && taken.length > 0) break;
      taken.push(entry);
    }
    for (const entry of taken) this.takeForDelivery(entry);
    const messages = taken.map((entry) => messageValue(entry.message));
    return {
      type: Type.MESSAGES,
      payload: valueMap({ messages, remaining: BigInt(account.queue.length) }),
      delivers: taken.map((entry) => entry.message.id),
    };
  }

  private deleteMessages(session: Session, payload: ValueMap): Reply {
    const ids = intListField(payload, 'ids');
    const account = this.loggedIn(session)!;
    const deletable = [...new Set(ids)].filter((id) => this.waiting.get(id)?.sender === account.number).sort(compareIds);
    if (deletable.length > 0) this.commit(RecordType.MESSAGES_DELETED, { ids: deletable });
    return { type: Type.DELETED, payload: valueMap({ ids: deletable }) };
  }

  private deleteAccount(session: Session): Reply {
    const account = this.loggedIn(session)!;
    // Messages waiting for it go with it; messages it sent stay queued for their recipients.
    this.commit(RecordType.ACCOUNT_DELETED, { name: account.name });
    return { type: Type.ACCOUNT_DELETED, payload: new Map() };
  }

  private loggedIn(session: Session): Account | undefined {
    return session.account === undefined ? undefined : this.accounts.get(session.account);
  }
}

function compareIds(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byId(a: Waiting, b: Waiting): number {
  return compareIds(a.message.id, b.message.id);
}

/** A SEND's (client, seq), if it has them: both or neither, positive ints. */
function retryKey(payload: ValueMap): { client: bigint; seq: bigint } | undefined {
  if (!payload.has('client') && !payload.has('seq')) return undefined;
  const client = intField(payload, 'client');
  const seq = intField(payload, 'seq');
  if (client < 1n || seq < 1n) throw new ProtocolError('bad-request', '"client" and "seq" must be positive');
  return { client, seq };
}

function minKey(map: Map<bigint, bigint>): bigint {
  let min: bigint | undefined;
  for (const key of map.keys()) if (min === undefined || key < min) min = key;
  return min!;
}

function passwordField(payload: ValueMap): string {
  const password = stringField(payload, 'password');
  if (password === '') throw new ProtocolError('bad-request', 'the password is empty');
  return password;
}
