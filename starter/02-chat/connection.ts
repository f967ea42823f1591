// One client's connection, from the greeting to its leave (spec/02-chat.md, sections 3 to 9).
//
// A suggested design: a connection is in one of three states, 'naming' until a name is
// accepted, 'chatting' while it is in the room, 'gone' once it has left. Bytes go through a
// LineReader, which finds the lines, and each line is handled according to the state. Every
// way of leaving (/quit, the client closing its side, a reset, being cut off as too slow) goes
// through leave(), so the room hears of it exactly once.
//
// Nothing here may block: the server is one thread, and a handler that waited on one client
// would stop all of them.
import type net from 'node:net';
import { runCommand, type Sender } from './commands.js';
import { LineReader } from './lines.js';
import { Outbox } from './outbox.js';
import { CUT_OFF_GRACE_MS, MAX_LINE_BYTES, OUTPUT_BOUND, chat, error, greeting, isValidName, joined, left, welcome } from './protocol.js';
import type { Member, Room } from './room.js';
import { NotImplemented } from './todo.js';

export type State = 'naming' | 'chatting' | 'gone';

export class Connection implements Member, Sender {
  name = '';
  state: State = 'naming';

  /**
   * Serves one client, from the moment it connects.
   *
   * Contract (spec sections 2, 3 and 7):
   * - send the greeting at once (protocol.ts: greeting());
   * - feed every chunk of bytes to a LineReader (lines.ts) with MAX_LINE_BYTES, and handle each
   *   line with onLine(); an over-long line gets "ERR line-too-long ...";
   * - leave() when the client closes its side ('end'), when the connection fails ('error') and
   *   when it closes ('close'): without an 'error' handler, a client that resets its connection
   *   crashes the whole server;
   * - everything you send goes through an Outbox (outbox.ts) with OUTPUT_BOUND, via deliver().
   * Useful: socket.on('data' | 'end' | 'error' | 'close'), socket.setNoDelay(true).
   */
  constructor(
    private readonly socket: net.Socket,
    private readonly room: Room,
  ) {
    throw new NotImplemented('2.1', 'the Connection constructor in connection.ts');
  }

  /**
   * Queues a line for this client. Once it is gone, does nothing. If the Outbox refuses the
   * line (the client is past the bound), cut the client off (phase 2.6, cutOff below).
   */
  deliver(line: string): void {
    throw new NotImplemented('2.1', 'Connection.deliver in connection.ts');
  }

  /**
   * One complete line from the client (spec sections 2 to 5):
   * - empty lines, and any line once the connection is gone, are ignored;
   * - while naming: "/quit" (or "/quit ...") quits; any other line is a name for chooseName();
   * - while chatting: a line starting with "/" is a command (commands.ts: runCommand); any
   *   other line goes to everyone else in the room as "NAME: TEXT" (protocol.ts: chat(), which
   *   replaces the control characters in TEXT, spec section 4, item 5: build chat lines with it).
   */
  private onLine(line: string): void {
    throw new NotImplemented('2.1', 'Connection.onLine in connection.ts');
  }

  /**
   * The client asks for `name` (spec section 3): "ERR name-invalid ..." if it breaks the rules
   * (protocol.ts: isValidName), "ERR name-taken ..." if someone in the room has it; otherwise
   * "* welcome NAME" to this client, "* NAME joined" to everyone else, and it joins the room.
   */
  private chooseName(name: string): void {
    throw new NotImplemented('2.1', 'Connection.chooseName in connection.ts');
  }

  /**
   * The client leaves, for `reason` (for the log). The first call only: later calls do nothing.
   * Close the Outbox after `last` (if given); if the client was in the room, remove it and send
   * "* NAME left" to everyone still there. Nothing the client sends afterwards is looked at.
   */
  leave(reason: string, last?: string): void {
    throw new NotImplemented('2.1', 'Connection.leave in connection.ts');
  }

  /**
   * (Phase 2.6.) The client let more than OUTPUT_BOUND bytes wait for it. It leaves, with the
   * last line "ERR slow-consumer ..." (spec section 9, item 4). So that a client that never reads
   * again does not hold its connection for ever, reset it (socket.destroy()) if it is still open
   * 10 seconds later (CUT_OFF_GRACE_MS), and not sooner.
   */
  private cutOff(): void {
    throw new NotImplemented('2.6', 'Connection.cutOff in connection.ts');
  }
}
