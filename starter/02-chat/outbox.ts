// One client's outgoing lines, with the bound of spec/02-chat.md, section 9.
//
// Everything the server sends to a client goes through its Outbox. The server must never wait
// for a client to read, so send() only queues; the bytes leave when the socket can take them.
// A client that stops reading makes its queue grow, and nothing else would stop it: the bound
// is what keeps the server's memory bounded.
import type net from 'node:net';
import { NotImplemented } from './todo.js';

export class Outbox {
  constructor(
    private readonly socket: net.Socket,
    private readonly bound: number,
  ) {}

  /**
   * Bytes waiting for this client inside the server: what you have queued and not yet given to
   * the socket, plus what the socket holds that the operating system has not taken yet
   * (socket.writableLength).
   */
  waiting(): number {
    throw new NotImplemented('2.6', 'Outbox.waiting in outbox.ts');
  }

  /**
   * Queues one line (given without its "\n") to be sent to the client, in order after every
   * line queued before it. Never blocks.
   *
   * Contract:
   * - returns true when the line is queued; the line then reaches the client with a "\n" after it;
   * - (phase 2.6) returns false, queueing nothing, when the line would take waiting() past the
   *   bound; the caller then cuts the client off (spec section 9, item 4);
   * - after close(), queues nothing and returns true.
   *
   * The simplest version writes each line at once: socket.write(`${line}\n`). It works, and
   * phase 2.5 is fast enough with it. Queueing the lines and writing them together once per turn
   * of the event loop (setImmediate) makes one write of many lines instead of many writes.
   */
  send(line: string): boolean {
    throw new NotImplemented('2.1', 'Outbox.send in outbox.ts');
  }

  /**
   * Queues `last`, if given, even past the bound; makes sure everything queued is written; then
   * closes our side of the connection (socket.end()). Called once a client leaves; calling it
   * again does nothing. A socket already destroyed (socket.destroyed) takes no more writes.
   */
  close(last?: string): void {
    throw new NotImplemented('2.1', 'Outbox.close in outbox.ts');
  }
}
