// One TCP link between a machine the grader plays and one of your servers, seen from the
// grader's end: the messages it decodes (in whatever pieces TCP delivers them), the messages it
// sends (whole, one byte per write, or several in one write), a log of both for the account of
// a failure, and what this link is still expected to receive. The test's trace records its bytes.
import type net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Random, type Proc, type Trace, type TraceLink } from '../../../grader/harness/index.js';
import { Decoder, describe, encode, type Msg } from './crc.js';
import type { Node } from './model.js';

/**
 * How the grader writes its messages on a link. whole: one write per message. bytes: one byte
 * per write, a millisecond apart, so that your server reads messages in pieces. coalesced: all
 * the messages of one step in a single write, so that one read holds several messages. ragged:
 * the messages of one step cut at random places, a few milliseconds apart: each write ends a
 * message, may hold whole ones, and starts the next, mostly cut in its header.
 */
export type Mode = 'whole' | 'bytes' | 'coalesced' | 'ragged';

/** A registration or a quit this link must receive, in this order, for one id. */
export type Expect =
  | { kind: 'reg'; type: 0x00 | 0x80; lastHop: number; name: string; info: string }
  | { kind: 'quit'; type: 0x02 | 0x82; text?: string };

export interface LogLine {
  ms: number;
  arrow: '←' | '→' | '•';
  text: string;
}

/**
 * pending: accepted, the other end not yet known. bound: graded against the model. detached:
 * the model no longer links the two ends (a refusal, a protocol error); only the status still
 * expected on it is graded. retired: the grader closed it; nothing more is graded.
 */
export type WireState = 'pending' | 'bound' | 'detached' | 'retired';

export interface WireHooks {
  now(): number;
  onMessage(wire: Wire, msg: Msg, raw: Buffer): void;
  onUnreadable(wire: Wire, problem: string): void;
  onClose(wire: Wire, how: string): void;
  transcript(who: string, arrow: '←' | '→' | '•', text: string): void;
  /** The test's trace (h.trace), where this link's messages are drawn. */
  trace?: Trace;
  /** The test's seeded generator (h.random): where a ragged link cuts its writes. */
  random?: Random;
}

export class Wire {
  far: Node | undefined;
  state: WireState = 'pending';
  readonly log: LogLine[] = [];
  /** Registrations and quits still to come, per id, in order; `got` is what came. */
  readonly expected = new Map<number, Expect[]>();
  readonly got = new Map<number, Msg[]>();
  /** Chats and statuses this link must receive, each once (`alternatives`: other accepted forms). */
  readonly unicast: { msg: Msg; alternatives: Msg[]; done: boolean; why: string }[] = [];
  received = 0;
  closed = false;
  /** Set when your server is expected to close this link (after a refusal or a protocol error). */
  expectClose = false;
  /** Set when the registration sent on this link must be refused (its id is taken). */
  refused = false;
  /** Set when the grader refused the registration of your server on this link. */
  refusedBy: 'grader' | undefined;
  private readonly decoder = new Decoder();
  private sending: Promise<void> = Promise.resolve();
  private readonly trace: TraceLink | undefined;
  /** Where a ragged link cuts its writes: drawn from the test's seed. */
  private readonly random: Random | undefined;

  constructor(
    readonly owner: Node,
    readonly socket: net.Socket,
    readonly mode: Mode,
    private readonly hooks: WireHooks,
  ) {
    // The far end's lane: the process of one of your servers or programs, once the link knows it.
    this.trace = hooks.trace?.link(owner.label, () => (this.far as { proc?: Proc } | undefined)?.proc ?? this.far?.label ?? 'a server not yet known');
    socket.setNoDelay(true);
    if (mode === 'ragged') {
      if (!hooks.random) throw new Error("a ragged link needs the test's random generator");
      // Its own generator, drawn when the link is made: its cuts do not depend on other links' timing.
      this.random = new Random(hooks.random.int(0, 2 ** 31));
    }
    socket.on('data', (chunk: Buffer) => {
      if (this.state === 'retired') return;
      for (const { msg, raw } of this.decoder.push(chunk)) {
        this.received++;
        this.note('←', describe(msg));
        this.hooks.onMessage(this, msg, raw);
      }
      if (this.decoder.broken) this.hooks.onUnreadable(this, this.decoder.broken);
    });
    // After the handler above, which learns who is at the far end from the first message.
    socket.on('data', (chunk: Buffer) => this.trace?.received(chunk));
    socket.on('close', (hadError) => this.trace?.event(hadError ? 'reset' : 'eof', hadError ? 'the link was reset' : 'the link closed', hadError && this.state !== 'retired'));
    socket.on('error', () => undefined);
    socket.on('close', (hadError) => {
      this.closed = true;
      if (this.state === 'retired') return;
      const how = hadError ? 'reset the link' : 'closed the link';
      this.note('•', `${this.far?.label ?? 'the other end'} ${how}${this.decoder.leftover ? ` (in the middle of a message: ${this.decoder.leftover} bytes of it had arrived)` : ''}`);
      this.hooks.onClose(this, how);
    });
  }

  /** "G201 ⇄ S3". */
  get name(): string {
    return `${this.owner.label} ⇄ ${this.far?.label ?? '?'}`;
  }

  note(arrow: LogLine['arrow'], text: string): void {
    const far = this.far?.label ?? 'your server';
    this.log.push({ ms: this.hooks.now(), arrow, text });
    const shown = arrow === '•' ? text : `${far}: ${text}`;
    this.hooks.transcript(this.owner.label, arrow, shown);
  }

  expect(id: number, event: Expect): void {
    const list = this.expected.get(id) ?? [];
    list.push(event);
    this.expected.set(id, list);
  }

  /**
   * Sends messages in this link's mode. `raw` bytes, when given, are sent as they are (the grader
   * passes on what it received byte for byte, as a server must).
   */
  send(items: (Msg | { msg: Msg; raw: Buffer })[]): void {
    if (items.length === 0) return;
    const parts = items.map((item) => ('raw' in item ? item : { msg: item, raw: encode(item) }));
    for (const { msg } of parts) this.note('→', describe(msg) + (this.mode === 'bytes' ? ' (one byte per write)' : ''));
    if (parts.length > 1 && this.mode === 'coalesced') this.note('•', `the last ${parts.length} messages went in one write`);
    if (this.mode === 'ragged') return this.writeRagged(parts.map((p) => p.raw));
    this.write(parts.map((p) => p.raw));
  }

  /**
   * Writes `messages` cut at random places, 2 ms apart. Most cuts fall a few bytes into a message,
   * in its header, so that a write (and, however the system joins writes, a read) ends one message
   * and starts the next; some messages get no cut, so that a write holds whole ones too.
   */
  private writeRagged(messages: Buffer[]): void {
    const random = this.random!;
    const bytes = Buffer.concat(messages);
    const cuts: number[] = [];
    let start = 0;
    for (const message of messages) {
      const into = random.chance(0.7) ? random.int(1, Math.min(message.length, 13)) : random.int(1, message.length + 1);
      if (message.length > 1 && random.chance(0.8)) cuts.push(start + into);
      start += message.length;
    }
    const pieces = [...cuts, bytes.length].map((end, i) => bytes.subarray(i === 0 ? 0 : cuts[i - 1], end)).filter((p) => p.length > 0);
    this.note('•', `the last ${messages.length > 1 ? `${messages.length} messages` : 'message'} (${bytes.length} bytes) went in ${pieces.length} writes of ${pieces.slice(0, 20).map((p) => p.length).join(', ')}${pieces.length > 20 ? ', …' : ''} bytes`);
    this.sending = this.sending.then(async () => {
      for (const piece of pieces) {
        this.put(piece);
        await delay(2);
      }
    });
  }

  /** Bytes that are not a message, for the tests of bad input. */
  sendBytes(bytes: Buffer, text: string): void {
    this.note('→', text);
    if (this.mode === 'ragged') return this.writeRagged([bytes]);
    this.write([bytes]);
  }

  private write(chunks: Buffer[]): void {
    const mode = this.mode;
    this.sending = this.sending.then(async () => {
      if (mode === 'coalesced') return this.put(Buffer.concat(chunks));
      for (const chunk of chunks) {
        if (mode === 'whole') {
          this.put(chunk);
          continue;
        }
        for (let i = 0; i < chunk.length; i++) {
          this.put(chunk.subarray(i, i + 1));
          await delay(1);
        }
      }
    });
  }

  private put(bytes: Buffer): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.trace?.sent(bytes);
    this.socket.write(bytes);
  }

  /** Waits until everything queued has been handed to the socket. */
  async flushed(): Promise<void> {
    await this.sending;
  }

  /** The grader closes its side, after what is queued (a FIN); nothing more is graded here. */
  async end(): Promise<void> {
    this.state = 'retired';
    await this.sending;
    this.socket.end();
  }

  /** The grader vanishes: a TCP reset, at once. */
  reset(): void {
    this.state = 'retired';
    this.socket.resetAndDestroy();
  }

  destroy(): void {
    this.state = 'retired';
    this.socket.destroy();
  }
}
