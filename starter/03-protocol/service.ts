// The messaging service (spec/03-protocol.md, sections 5, 7, 8 and 9), with no I/O in it: it takes
// a decoded request from a session and returns the reply, or throws a ProtocolError. Pushing a
// message goes through the session, which connection.ts implements.
//
// The dispatch and PING are done, as the worked example: a handler reads its fields with the
// helpers of messages.ts (which throw `bad-request` for a wrong shape) and returns a Reply.
import { maxPayload } from './frames.js';
import { Type, ProtocolError, anyField, asMap, type Message, type Reply } from './messages.js';
import type { PasswordHash } from './passwords.js';
import { NotImplemented } from './todo.js';
import { valueMap, type Value, type ValueMap } from './values.js';

/** One connection, as the service sees it. */
export interface Session {
  /** The account this connection is logged in as; the service sets it. */
  account: string | undefined;
  /** Sends a MESSAGE frame on this connection; false if it cannot (the connection is closing). */
  push(message: Message): boolean;
}

/** What you keep per account; add what you need. */
interface Account {
  name: string;
  password: PasswordHash;
  /** Messages waiting for this account, oldest first. */
  queue: Message[];
  session: Session | undefined;
}

export const maxTextBytes = 65_536;

type Handler = (session: Session, payload: ValueMap) => Reply;

export class Service {
  private readonly accounts = new Map<string, Account>();
  private nextId = 1n;

  /**
   * @param sizeOf the encoded size of a value in the connection's encoding, so that a READ reply
   *   can be kept within the maximum frame size (maxPayload).
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

  /** Answers one decoded request: `not-logged-in` first, then the handler (section 6's order). */
  handle(session: Session, type: bigint, payload: Value): Reply {
    const handler = this.handlers.get(type);
    if (!handler) throw new ProtocolError('unknown-type', `${type} is not a request type`);
    if (handler.needsLogin && session.account === undefined) throw new ProtocolError('not-logged-in', 'log in first');
    return handler.handle(session, asMap(payload));
  }

  /** The connection closed: log it out (section 7). Its account's messages wait for the next login. */
  disconnect(session: Session): void {
    throw new NotImplemented('3.3', 'Service.disconnect in service.ts');
  }

  /** PING {value} -> PONG {value}: the worked example. */
  private ping(payload: ValueMap): Reply {
    return { type: Type.PONG, payload: valueMap({ value: anyField(payload, 'value') }) };
  }

  /**
   * CREATE_ACCOUNT {name, password} -> ACCOUNT_CREATED {name} (section 5.2). An empty password is
   * `bad-request`; a name outside section 8's rules `bad-name`; a name in use `name-taken`.
   * Keep only hashPassword(password), never the password.
   */
  private createAccount(payload: ValueMap): Reply {
    throw new NotImplemented('3.3', 'Service.createAccount in service.ts');
  }

  /**
   * LOGIN {name, password} -> LOGGED_IN {name, waiting} (section 5.3). Errors in this order:
   * `already-logged-in`, `login-failed` (unknown name or wrong password alike), `account-busy`.
   */
  private login(session: Session, payload: ValueMap): Reply {
    throw new NotImplemented('3.3', 'Service.login in service.ts');
  }

  /** LOGOUT {} -> LOGGED_OUT {} (section 5.4). */
  private logout(session: Session): Reply {
    throw new NotImplemented('3.3', 'Service.logout in service.ts');
  }

  /** LIST_ACCOUNTS {pattern} -> ACCOUNTS {names}: every matching name, ascending (section 5.5). */
  private listAccounts(payload: ValueMap): Reply {
    throw new NotImplemented('3.3', 'Service.listAccounts in service.ts');
  }

  /**
   * SEND {to, text} -> SENT {id} (section 5.6 and 9). A text over maxTextBytes UTF-8 bytes is
   * `bad-request`; an unknown recipient `no-such-account`. Ids count up from 1. Push the message
   * (session.push) only if the recipient is logged in, its queue is empty and the push succeeds;
   * otherwise queue it. Never both.
   */
  private send(session: Session, payload: ValueMap): Reply {
    throw new NotImplemented('3.4', 'Service.send in service.ts');
  }

  /**
   * READ {limit} -> MESSAGES {messages, remaining} (section 5.7). limit < 1 is `bad-request`.
   * Remove the oldest messages from the queue as you return them, at most `limit`, and fewer if
   * the reply would not fit in maxPayload bytes (this.sizeOf), but at least one if any waits.
   */
  private read(session: Session, payload: ValueMap): Reply {
    throw new NotImplemented('3.4', 'Service.read in service.ts');
  }

  /**
   * DELETE_MESSAGES {ids} -> DELETED {ids} (section 5.8): delete the caller's own messages that
   * still wait, among those ids; reply with the ids deleted, ascending, each once.
   */
  private deleteMessages(session: Session, payload: ValueMap): Reply {
    throw new NotImplemented('3.4', 'Service.deleteMessages in service.ts');
  }

  /**
   * DELETE_ACCOUNT {} -> ACCOUNT_DELETED {} (section 5.9): delete the account and the messages
   * waiting for it, not those it sent; log the connection out.
   */
  private deleteAccount(session: Session): Reply {
    throw new NotImplemented('3.3', 'Service.deleteAccount in service.ts');
  }
}
