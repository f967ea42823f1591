// The commands of spec/02-chat.md, section 5: a line that starts with "/" once a client has
// its name. The first word picks the handler; the rest of the line, after one space, is its
// argument text. A new command is one more function and one more entry in the table.
//
// /users is done, as an example of the shape; the other three and runCommand are yours.
import { bye, direct, error, help, printable, users } from './protocol.js';
import type { Room } from './room.js';
import { NotImplemented } from './todo.js';

/** What a command may do to the connection that sent it. */
export interface Sender {
  readonly name: string;
  deliver(line: string): void;
  /** Leaves the room and closes the connection, after sending `last`. */
  leave(reason: string, last?: string): void;
}

type Command = (sender: Sender, args: string, room: Room) => void;

/** /users: one line listing every name in the room, the sender's included. */
function listUsers(sender: Sender, _args: string, room: Room): void {
  sender.deliver(users(room.names()));
}

/** /help: one or more lines, each starting with "* " (protocol.ts has them). */
function showHelp(sender: Sender, _args: string, room: Room): void {
  throw new NotImplemented('2.2', 'showHelp in commands.ts');
}

/** /quit: "* bye", then the client leaves and the connection closes (spec section 7, item 1). */
function quit(sender: Sender, _args: string, room: Room): void {
  throw new NotImplemented('2.2', 'quit in commands.ts');
}

/**
 * /msg NAME TEXT: TEXT to NAME only, as "SENDER (direct): TEXT". NAME is `args` up to its first
 * space, TEXT everything after that space. An empty NAME or TEXT is "ERR usage"; a NAME nobody in
 * the room has is "ERR no-such-user" (protocol.ts: error(), direct()). The sender gets nothing
 * when it works. direct() puts TEXT through printable(), so that no one's text can hold a "\r"
 * or an escape code that makes a terminal show a line its sender did not send (spec section 4,
 * item 5); an explanation that quotes the client's text (the NAME) must do the same.
 */
function message(sender: Sender, args: string, room: Room): void {
  throw new NotImplemented('2.2', 'message in commands.ts');
}

// A Map, not an object: a line such as "/constructor" must not find a built-in property.
const commands = new Map<string, Command>([
  ['/users', listUsers],
  ['/help', showHelp],
  ['/quit', quit],
  ['/msg', message],
]);

/**
 * Runs the command in `line` (which starts with "/") for `sender`.
 *
 * Contract (spec section 5): the command word is `line` up to its first space, or all of it;
 * the argument text is everything after that first space ("" if none). Look the word up in
 * `commands` (case-sensitive) and call the handler; a word that is not there gets
 * "ERR unknown-command ..." (protocol.ts: error('unknown-command', ...)). If the explanation
 * quotes the word, quote printable(word): no line the server sends may hold a control character
 * other than tab (spec section 4, item 5).
 */
export function runCommand(sender: Sender, line: string, room: Room): void {
  throw new NotImplemented('2.2', 'runCommand in commands.ts');
}
