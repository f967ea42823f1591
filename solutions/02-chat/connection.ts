// One client's connection, from the greeting to its leave (spec/02-chat.md, sections 3 to 9).
//
// A connection is in one of three states: 'naming' until a name is accepted, 'chatting' while
// it is in the room, 'gone' once it has left. Bytes go through a LineReader, which finds the
// lines, and each line is handled according to the state. Every way of leaving (/quit, the
// client closing its side, a reset, being cut off as too slow) goes through leave(), so the
// room hears of it exactly once, and nothing the client sends afterwards is looked at.
//
// Nothing here blocks: the server is one process with one thread, and a handler that waited on
// one client would stop all of them. Output goes into the client's Outbox, which writes it on
// the next turn of the event loop and never waits for the client to read it.
import type net from 'node:net';
import { runCommand, type Sender } from './commands.js';
import { LineReader } from './lines.js';
import { Outbox } from './outbox.js';
import { CUT_OFF_GRACE_MS, MAX_LINE_BYTES, OUTPUT_BOUND, chat, error, greeting, isValidName, joined, left, welcome } from './protocol.js';
import type { Member, Room } from './room.js';

type State = 'naming' | 'chatting' | 'gone';

export class Connection implements Member, Sender {
  name = '';
  private state: State = 'naming';
  private readonly peer: string;
  private readonly outbox: Outbox;
  private readonly reader: LineReader;

  constructor(
    private readonly socket: net.Socket,
    private readonly room: Room,
  ) {
    this.peer = `${socket.remoteAddress}:${socket.remotePort}`;
    this.outbox = new Outbox(socket, OUTPUT_BOUND);
    this.reader = new LineReader(MAX_LINE_BYTES, {
      line: (text) => this.onLine(text),
      tooLong: () => this.deliver(error('line-too-long', `a line may hold at most ${MAX_LINE_BYTES} bytes; this one was dropped`)),
    });
    // Chat lines are small and should not wait for more to fill a packet.
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.state !== 'gone') this.reader.push(chunk);
    });
    // The client closed its side: an unfinished last line is dropped, as the spec says.
    socket.on('end', () => this.leave('closed the connection'));
    // A reset or a failed write. Without a handler the error would crash the whole server.
    socket.on('error', (e) => this.leave(e.message));
    socket.on('close', () => this.leave('connection closed'));
    console.log(`${this.peer} connected`);
    this.deliver(greeting());
  }

  /** Queues a line for this client; one that has stopped reading past the bound is cut off. */
  deliver(line: string): void {
    if (this.state === 'gone') return;
    if (!this.outbox.send(line)) this.cutOff();
  }

  private onLine(line: string): void {
    if (this.state === 'gone' || line === '') return;
    if (this.state === 'naming') {
      // Before a name, /quit still works; every other line is taken as a name.
      if (line === '/quit' || line.startsWith('/quit ')) runCommand(this, line, this.room);
      else this.chooseName(line);
    } else if (line.startsWith('/')) {
      runCommand(this, line, this.room);
    } else {
      this.room.broadcast(chat(this.name, line), this);
    }
  }

  private chooseName(name: string): void {
    if (!isValidName(name)) {
      this.deliver(error('name-invalid', 'a name is 1-16 letters, digits, _ or -, starting with a letter'));
    } else if (this.room.has(name)) {
      this.deliver(error('name-taken', `someone here is already called ${name}`));
    } else {
      // Welcome first, then tell the others: from here on this client hears every chat line.
      this.name = name;
      this.state = 'chatting';
      this.deliver(welcome(name));
      this.room.broadcast(joined(name), this);
      this.room.add(name, this);
      console.log(`${this.peer} is ${name}`);
    }
  }

  /** Leaves the room (telling the others if it had a name) and closes the connection after `last`. */
  leave(reason: string, last?: string): void {
    if (this.state === 'gone') return;
    const wasInRoom = this.state === 'chatting';
    this.state = 'gone';
    this.outbox.close(last);
    if (wasInRoom) {
      this.room.remove(this.name);
      this.room.broadcast(left(this.name));
    }
    console.log(`${this.peer}${this.name ? ` (${this.name})` : ''} left: ${reason}`);
  }

  /**
   * The client let more than OUTPUT_BOUND bytes wait for it. It gets one last line saying why,
   * which it will see if it ever reads again, and if it never does the reset below frees the
   * connection for good.
   */
  private cutOff(): void {
    const waiting = this.outbox.waiting();
    this.leave(`too slow: ${waiting} bytes waiting`, error('slow-consumer', `you were not reading and ${waiting} bytes waited for you; disconnected`));
    const timer = setTimeout(() => this.socket.destroy(), CUT_OFF_GRACE_MS);
    this.socket.once('close', () => clearTimeout(timer));
  }
}
