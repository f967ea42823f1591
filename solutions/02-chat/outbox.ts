// One client's outgoing lines, with the bound of spec/02-chat.md, section 9.
//
// Lines are queued and written together once per turn of the event loop (setImmediate): when
// many clients talk at once, each listener costs one write per turn, not one per line.
//
// What waits for a client is what we have queued plus what the socket holds that the OS has
// not taken yet (socket.writableLength). A client that stops reading makes that grow, and
// nothing else would stop it: send() refuses a line that would take it past the bound, and the
// caller then cuts the client off. That is what keeps the server's memory bounded.
import type net from 'node:net';

export class Outbox {
  private queue: string[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly bound: number,
  ) {}

  /** Bytes waiting for this client inside the server. */
  waiting(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  /** Queues one line (given without its "\n"). Returns false, queueing nothing, if it would pass the bound. */
  send(line: string): boolean {
    if (this.closed) return true;
    const bytes = Buffer.byteLength(line) + 1;
    if (this.waiting() + bytes > this.bound) return false;
    this.queue.push(line);
    this.queuedBytes += bytes;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  /** Queues `last` (even past the bound), sends everything queued, then closes our side. */
  close(last?: string): void {
    if (this.closed) return;
    if (last !== undefined) {
      this.queue.push(last);
      this.queuedBytes += Buffer.byteLength(last) + 1;
    }
    this.flush();
    this.closed = true;
    if (!this.socket.destroyed) this.socket.end();
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed || this.queue.length === 0) return;
    // A socket destroyed by an error takes no more writes; the connection is leaving anyway.
    if (!this.socket.destroyed) this.socket.write(`${this.queue.join('\n')}\n`);
    this.queue = [];
    this.queuedBytes = 0;
  }
}
