// The client's two translations (spec/03-protocol.md, section 12): a typed command line into a
// request, and a frame from the server into the lines to print; and, new in lab 5, the filter that
// keeps a message delivered twice across a crash from being shown twice. No I/O here.
import { Type, type Reply } from './messages.js';
import type { Value, ValueMap } from './values.js';
import { valueMap } from './values.js';

export type Command = { request: Reply } | { quit: true } | { problem: string } | undefined;

const usage: Record<string, string> = {
  ping: 'ping TEXT',
  create: 'create NAME PASSWORD',
  login: 'login NAME PASSWORD',
  logout: 'logout',
  list: 'list [PATTERN]',
  send: 'send NAME TEXT',
  read: 'read [LIMIT]',
  delete: 'delete ID [ID ...]',
  'delete-account': 'delete-account',
};

/** One line of input as a request to send, a quit, a problem to report, or nothing (empty line). */
export function parseCommand(line: string): Command {
  if (line === '') return undefined;
  const space = line.indexOf(' ');
  const word = space < 0 ? line : line.slice(0, space);
  // `rest` keeps its spaces: TEXT is the rest of the line, verbatim.
  const rest = space < 0 ? '' : line.slice(space + 1);
  const args = rest === '' ? [] : rest.split(' ');
  const request = (type: bigint, fields: Record<string, Value>): Command => ({ request: { type, payload: valueMap(fields) } });
  const wrong = (): Command => ({ problem: usage[word] ? `usage: ${usage[word]}` : `unknown command "${word}"; commands: ${Object.values(usage).join(', ')}, quit` });

  switch (word) {
    case 'quit':
    case 'exit':
      return { quit: true };
    case 'ping':
      // "ping" alone lacks its TEXT; "ping " has an empty one.
      return space < 0 ? wrong() : request(Type.PING, { value: rest });
    case 'create':
    case 'login':
      if (args.length !== 2) return wrong();
      return request(word === 'create' ? Type.CREATE_ACCOUNT : Type.LOGIN, { name: args[0]!, password: args[1]! });
    case 'logout':
      return args.length === 0 ? request(Type.LOGOUT, {}) : wrong();
    case 'delete-account':
      return args.length === 0 ? request(Type.DELETE_ACCOUNT, {}) : wrong();
    case 'list':
      if (args.length > 1) return wrong();
      return request(Type.LIST_ACCOUNTS, { pattern: args[0] ?? '*' });
    case 'send': {
      const cut = rest.indexOf(' ');
      if (cut <= 0) return wrong();
      return request(Type.SEND, { to: rest.slice(0, cut), text: rest.slice(cut + 1) });
    }
    case 'read': {
      if (args.length > 1) return wrong();
      const limit = args.length === 0 ? 10n : integer(args[0]!);
      return limit === undefined ? wrong() : request(Type.READ, { limit });
    }
    case 'delete': {
      const ids = args.map(integer);
      if (ids.length === 0 || ids.some((id) => id === undefined)) return wrong();
      return request(Type.DELETE_MESSAGES, { ids: ids as bigint[] });
    }
    default:
      return wrong();
  }
}

function integer(text: string): bigint | undefined {
  return /^-?[0-9]+$/.test(text) ? BigInt(text) : undefined;
}

/** A frame the client cannot show: the server sent something the spec does not allow. */
export class BadReply extends Error {}

/**
 * The lines to print for a frame from the server. Throws BadReply for a frame it cannot show.
 * Every string from the frame goes through shown() (lab 3's rule 8).
 */
export function describe(type: bigint, value: Value): string[] {
  if (!(value instanceof Map)) throw new BadReply(`a payload of type ${type} that is not a map`);
  const str = (key: string) => shown(field(value, key, 'string') as string);
  const int = (key: string) => field(value, key, 'int') as bigint;
  const list = (key: string) => field(value, key, 'list') as Value[];
  switch (type) {
    case Type.PONG: {
      const pong = value.get('value');
      return [`pong ${shown(typeof pong === 'string' ? pong : String(pong))}`];
    }
    case Type.ACCOUNT_CREATED:
      return [`created ${str('name')}`];
    case Type.LOGGED_IN:
      return [`logged in as ${str('name')}, ${int('waiting')} waiting`];
    case Type.LOGGED_OUT:
      return ['logged out'];
    case Type.ACCOUNTS: {
      const names = list('names').map((name) => {
        if (typeof name !== 'string') throw new BadReply('an ACCOUNTS name that is not a string');
        return shown(name);
      });
      return [`accounts: ${names.length > 0 ? names.join(' ') : '(none)'}`];
    }
    case Type.SENT:
      return [`sent message ${int('id')}`];
    case Type.MESSAGES:
      return [...list('messages').map(messageLine), `${int('remaining')} more waiting`];
    case Type.DELETED: {
      const ids = list('ids').map((id) => {
        if (typeof id !== 'bigint') throw new BadReply('a DELETED id that is not an int');
        return String(id);
      });
      return [`deleted: ${ids.length > 0 ? ids.join(' ') : '(none)'}`];
    }
    case Type.ACCOUNT_DELETED:
      return ['account deleted'];
    case Type.MESSAGE:
      return [messageLine(value)];
    case Type.ERROR:
      return [`error ${str('code')}: ${str('message')}`];
    default:
      throw new BadReply(`a frame of unknown type ${type}`);
  }
}

/**
 * A frame's value without the messages whose ids were shown before (spec/05-persistence.md,
 * section 10, rule 4: after a crash the server may deliver a message again), or undefined for a
 * pushed MESSAGE already shown. Records the ids it lets through in `seen`.
 */
export function unseen(type: bigint, value: Value, seen: Set<bigint>): Value | undefined {
  const fresh = (message: Value): boolean => {
    const id = message instanceof Map ? message.get('id') : undefined;
    if (typeof id !== 'bigint') return true; // describe() reports the bad message.
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  };
  if (!(value instanceof Map)) return value;
  if (type === Type.MESSAGE) return fresh(value) ? value : undefined;
  const messages = value.get('messages');
  if (type !== Type.MESSAGES || !Array.isArray(messages)) return value;
  return new Map([...value, ['messages', messages.filter(fresh)]]);
}

function messageLine(message: Value): string {
  if (!(message instanceof Map)) throw new BadReply('a message that is not a map');
  const from = shown(field(message, 'from', 'string') as string);
  return `message ${field(message, 'id', 'int')} from ${from}: ${shown(field(message, 'text', 'string') as string)}`;
}

/**
 * A string from the server as the client prints it (spec/03-protocol.md, section 12, rule 8): a
 * line break ends the printed line and the next starts with two spaces, so a text can never print
 * a line that looks like a message of its own; every other control character becomes U+FFFD.
 */
export function shown(text: string): string {
  return text.replace(/\r?\n|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => (c.endsWith('\n') ? '\n  ' : '\ufffd'));
}

function field(map: ValueMap, key: string, kind: 'string' | 'int' | 'list'): Value {
  const value = map.get(key);
  const ok = kind === 'list' ? Array.isArray(value) : typeof value === (kind === 'int' ? 'bigint' : 'string');
  if (value === undefined || !ok) throw new BadReply(`"${key}" is missing or not a ${kind}`);
  return value;
}
