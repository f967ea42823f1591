// The commands of spec/02-chat.md, section 5: a line that starts with "/" once a client has
// its name. The first word picks the handler; the rest of the line, after one space, is its
// argument text. A new command is one more function and one more entry in the table.
import { bye, direct, error, help, printable, users } from './protocol.js';
import type { Room } from './room.js';

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

function showHelp(sender: Sender): void {
  for (const line of help()) sender.deliver(line);
}

function quit(sender: Sender): void {
  sender.leave('quit', bye());
}

/** /msg NAME TEXT: TEXT to NAME only. NAME ends at the first space; TEXT is all the rest. */
function message(sender: Sender, args: string, room: Room): void {
  const space = args.indexOf(' ');
  const name = space === -1 ? args : args.slice(0, space);
  const text = space === -1 ? '' : args.slice(space + 1);
  if (name === '' || text === '') {
    sender.deliver(error('usage', 'usage: /msg NAME TEXT'));
    return;
  }
  const recipient = room.find(name);
  if (!recipient) {
    sender.deliver(error('no-such-user', `nobody here is called ${printable(name)}`));
    return;
  }
  recipient.deliver(direct(sender.name, text));
}

// A Map, not an object: a line such as "/constructor" must not find a built-in property.
const commands = new Map<string, Command>([
  ['/users', listUsers],
  ['/help', showHelp],
  ['/quit', quit],
  ['/msg', message],
]);

export function runCommand(sender: Sender, line: string, room: Room): void {
  const space = line.indexOf(' ');
  const word = space === -1 ? line : line.slice(0, space);
  const args = space === -1 ? '' : line.slice(space + 1);
  const command = commands.get(word);
  if (command) {
    command(sender, args, room);
  } else {
    // The word is the client's text: quoted back, it goes through printable() like any other.
    sender.deliver(error('unknown-command', `no command ${printable(word)}; /help lists them`));
  }
}
