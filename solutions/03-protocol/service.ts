// The messaging service (spec/03-protocol.md, sections 5, 7, 8 and 9), with no I/O in it: it takes
// a decoded request from a session and returns the reply, or throws a ProtocolError. Pushing a
// message goes through the session, which the connection code implements. So the rules can be
// read, and tested, apart from sockets and bytes.
//
// State, all in memory: the accounts by name; each account's queue of waiting messages, oldest
// first; and which session, if any, is logged in to it.
//
// Exactly once: a message is either pushed at once (recipient logged in, queue empty, connection
// still open) or put in the queue; a READ takes it out of the queue as it returns it, and a
// DELETE_MESSAGES or DELETE_ACCOUNT takes it out unread. There is no path that both pushes and
// queues a message, or leaves it in the queue after returning it. Pushing only when the queue is
// empty keeps each recipient's messages in the order they were accepted.
import { maxPayload } from './frames.js';
import { Type, ProtocolError, anyField, asMap, intField, intListField, messageValue, stringField, type Message, type Reply } from './messages.js';
import { checkPassword, hashPassword, type PasswordHash } from './passwords.js';
import { brief, valueMap, type Value, type ValueMap } from './values.js';
import { matches } from './wildcard.js';

/** One connection, as the service sees it. */
export interface Session {
  /** The account this connection is logged in as; the service sets it. */
  account: string | undefined;
  /** Sends a MESSAGE frame on this connection; false if it cannot (the connection is closing). */
  push(message: Message): boolean;
}

interface Account {
  name: string;
  password: PasswordHash;
  queue: Waiting[];
  session: Session | undefined;
}

interface Waiting {
  message: Message;
  /** The sending account itself, not its name: a later account of the same name is someone else. */
  sender: Account;
  recipient: Account;
}

const namePattern = /^[A-Za-z0-9_.-]{1,32}$/;
export const maxTextBytes = 65_536;

type Handler = (session: Session, payload: ValueMap) => Reply;

export class Service {
  private readonly accounts = new Map<string, Account>();
  /** Every waiting message by id, for DELETE_MESSAGES. */
  private readonly waiting = new Map<bigint, Waiting>();
  private nextId = 1n;

  /**
   * @param sizeOf the encoded size of a value in the connection's encoding, so that a READ reply
   *   can be kept within the maximum frame size.
   */
  constructor(private readonly sizeOf: (value: Value) => number) {}

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

  private ping(payload: ValueMap): Reply {
    return { type: Type.PONG, payload: valueMap({ value: anyField(payload, 'value') }) };
  }

  private createAccount(payload: ValueMap): Reply {
    const name = stringField(payload, 'name');
    const password = passwordField(payload);
    if (!namePattern.test(name)) throw new ProtocolError('bad-name', 'a name is 1 to 32 letters, digits, "_", "." or "-"');
    if (this.accounts.has(name)) throw new ProtocolError('name-taken', `${name} is taken`);
    this.accounts.set(name, { name, password: hashPassword(password), queue: [], session: undefined });
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
    const recipient = this.accounts.get(to);
    if (!recipient) throw new ProtocolError('no-such-account', `no account is named ${brief(to)}`);
    const sender = this.loggedIn(session)!;
    const message: Message = { from: sender.name, id: this.nextId++, text };
    // Pushed only if nothing older waits, so that the recipient gets its messages in order.
    const pushed = recipient.session !== undefined && recipient.queue.length === 0 && recipient.session.push(message);
    if (!pushed) {
      const entry = { message, sender, recipient };
      recipient.queue.push(entry);
      this.waiting.set(message.id, entry);
    }
    return { type: Type.SENT, payload: valueMap({ id: message.id }) };
  }

  private read(session: Session, payload: ValueMap): Reply {
    const limit = intField(payload, 'limit');
    if (limit < 1n) throw new ProtocolError('bad-request', '"limit" must be at least 1');
    const account = this.loggedIn(session)!;
    // Take the oldest messages while the reply stays within one frame. Each message's own encoding
    // is counted, plus one byte for the comma between JSON items; `envelope` covers the rest of
    // the reply (its keys, the list header, "remaining"). A message is at most 64 KiB, so at least
    // one always fits.
    const envelope = 64;
    const taken: Waiting[] = [];
    let size = envelope;
    for (const entry of account.queue) {
      if (BigInt(taken.length) >= limit) break;
      size += this.sizeOf(messageValue(entry.message)) + 1;
      if (size > maxPayload && taken.length > 0) break;
      taken.push(entry);
    }
    account.queue.splice(0, taken.length);
    for (const entry of taken) this.waiting.delete(entry.message.id);
    const messages = taken.map((entry) => messageValue(entry.message));
    return { type: Type.MESSAGES, payload: valueMap({ messages, remaining: BigInt(account.queue.length) }) };
  }

  private deleteMessages(session: Session, payload: ValueMap): Reply {
    const ids = intListField(payload, 'ids');
    const account = this.loggedIn(session)!;
    const deleted: bigint[] = [];
    for (const id of new Set(ids)) {
      const entry = this.waiting.get(id);
      if (!entry || entry.sender !== account) continue;
      const queue = entry.recipient.queue;
      queue.splice(queue.indexOf(entry), 1);
      this.waiting.delete(id);
      deleted.push(id);
    }
    deleted.sort((a, b) => (a < b ? -1 : 1));
    return { type: Type.DELETED, payload: valueMap({ ids: deleted }) };
  }

  private deleteAccount(session: Session): Reply {
    const account = this.loggedIn(session)!;
    // Messages waiting for it go with it; messages it sent stay queued for their recipients.
    for (const entry of account.queue) this.waiting.delete(entry.message.id);
    this.disconnect(session);
    this.accounts.delete(account.name);
    return { type: Type.ACCOUNT_DELETED, payload: new Map() };
  }

  private loggedIn(session: Session): Account | undefined {
    return session.account === undefined ? undefined : this.accounts.get(session.account);
  }
}

function passwordField(payload: ValueMap): string {
  const password = stringField(payload, 'password');
  if (password === '') throw new ProtocolError('bad-request', 'the password is empty');
  return password;
}
