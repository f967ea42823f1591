// What one test looked like from the grader's side, for the space-time diagram a student opens
// after a failure (grader/trace/ draws it). Every lane is a process or an end the grader plays
// (a connection, a fake peer); every message is one the grader saw: sent or received on its own
// connections, or passed through one of its fault proxies. The lab's protocol decodes them
// (labs/NN-name/tests/trace.ts, see AUTHORING.md), so an arrow says "LOGIN {name: ann}" rather
// than 40 bytes.
//
// Times are milliseconds since the test began (performance.now()). The grader also gives every
// event a Lamport timestamp, from what it observed: an event ticks its lane's clock, and a
// message's receipt takes max(receiver's clock, the send's stamp) + 1. The grader's own lanes
// share one clock, because they are one program doing one thing after another. Where the grader
// knows only one end of a message (it sent it, or it received it), both ends carry that time.
//
// Recording must cost a test nothing it could notice: events are kept in memory (the first and
// the last of them when there are very many, the middle counted), and JSON is only written, with
// the HTML beside it, for a test that failed or was run with --trace. Decoding is what costs
// (a lab 2 test moves two million lines): once the first half of the messages kept are in,
// the rest are kept as the chunks that came, undecoded, the last of them in a ring.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { importTypeScript } from '../bundle.mjs';

/** One message a lab decoder found in a stream of bytes. */
export interface Decoded {
  /** A short name to filter by: "LOGIN", "chat", "server registration". */
  type: string;
  /** The message in one line, for the diagram and its details. */
  text: string;
  /** The message's bytes (the first 64 are kept). */
  raw: Buffer;
}

/** A stateful decoder of one direction of one connection: bytes in, whole messages out. */
export interface StreamDecoder {
  push(chunk: Buffer): Decoded[];
  /** Bytes received that do not yet make a whole message. */
  pending?(): Buffer;
}

/** What a lab's labs/NN-name/tests/trace.ts default-exports: a new decoder for each stream. */
export type DecoderFactory = (stream: { from: string; to: string }) => StreamDecoder;

export type Role = 'program' | 'grader';

export interface Lane {
  id: number;
  name: string;
  role: Role;
  /** This lane's Lamport clock; the grader's lanes use the trace's shared one. */
  clock: number;
}

/** Anything that names a lane: a lane, a name (an existing lane of that name, or a new grader lane), or a function giving one when asked. */
export type LaneRef = Lane | string | { readonly traceLane?: Lane } | (() => Lane | string | { readonly traceLane?: Lane });

export interface MessageEvent {
  kind: 'msg';
  seq: number;
  from: Lane;
  to: Lane;
  link?: string;
  sent: number;
  recv?: number;
  ls: number;
  lr?: number;
  /** Which end the grader saw happen: its own send, its own receipt, or both (a proxy). */
  known: 'send' | 'receive' | 'both';
  type: string;
  /** For an undecoded chunk, text and hex are made from `head` only if the trace is written. */
  text?: string;
  size: number;
  hex?: string;
  head?: Buffer;
  /** Why a proxy never delivered it. */
  lost?: string;
  /** Bytes that did not make a whole message by the time the trace was written. */
  partial?: boolean;
}

export interface ExpectEvent {
  kind: 'expect';
  seq: number;
  lane: Lane;
  t: number;
  ls: number;
  end?: number;
  le?: number;
  what: string;
  ok?: boolean;
  error?: string;
  failing?: boolean;
}

export interface LaneEvent {
  kind: 'event';
  seq: number;
  lane: Lane;
  t: number;
  l: number;
  /** start, ready, exit, kill, signal, pause, resume, restart, connect, fin, eof, reset, error, ... */
  what: string;
  text: string;
  /** Something went wrong that the grader did not ask for (a crash, a reset). */
  bad?: boolean;
}

export interface FaultEvent {
  kind: 'fault';
  seq: number;
  t: number;
  l: number;
  what: string;
  text: string;
  from?: Lane;
  to?: Lane;
  link?: string;
}

export interface NoteEvent {
  kind: 'note' | 'failure';
  seq: number;
  t: number;
  l: number;
  text: string;
  lane?: Lane;
}

export type TraceEvent = MessageEvent | ExpectEvent | LaneEvent | FaultEvent | NoteEvent;

/** What an expectation's owner calls when the wait ends: with the error if it failed. */
export interface ExpectHandle {
  done(error?: unknown): void;
}

/** One connection as a lane: the grader's end of it, and the far end's lane. */
export interface TraceLink {
  readonly lane: Lane;
  sent(data: Buffer | string): void;
  received(chunk: Buffer): void;
  event(what: string, text: string, bad?: boolean): void;
  expect(what: string): ExpectHandle;
}

/** A program's lane, for its process events, its standard input and output, and waits on it. */
export interface ProcTrace {
  readonly lane: Lane;
  event(what: string, text: string, bad?: boolean): void;
  stdin(text: string): void;
  stdout(line: string): void;
  expect(what: string): ExpectHandle;
}

/**
 * Messages kept: the first half of this many decoded, then the last half as undecoded chunks;
 * the same for waits and other events (first and last halves).
 */
export const limits = { messages: 50_000, expectations: 20_000, other: 20_000, hexBytes: 64, textChars: 160 };

/** The first `cap / 2` items and a ring of the last `cap / 2`; the ones between are counted. */
class Kept<T extends { seq: number }> {
  private readonly head: T[] = [];
  private readonly tail: T[] = [];
  private next = 0;
  dropped = 0;

  constructor(private readonly cap: number) {}

  /** The first half is in: what comes now may only be kept for a while, in the ring. */
  get headFull(): boolean {
    return this.head.length >= Math.floor(this.cap / 2);
  }

  add(item: T): void {
    const half = Math.floor(this.cap / 2);
    if (this.head.length < half) this.head.push(item);
    else if (this.tail.length < half) this.tail.push(item);
    else {
      this.tail[this.next] = item;
      this.next = (this.next + 1) % half;
      this.dropped++;
    }
  }

  items(): T[] {
    return [...this.head, ...this.tail.slice(this.next), ...this.tail.slice(0, this.next)];
  }

  /** The last item of the first half, and the first kept after it: the dropped ones were between. */
  get bounds(): { headLast?: number; tailFirst?: number } {
    return { headLast: this.head.at(-1)?.seq, tailFirst: (this.tail[this.next] ?? this.tail[0])?.seq };
  }
}

function now(): number {
  return performance.now();
}

function cut(text: string, max = limits.textChars): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A chunk as the default decoder shows it, with no protocol known: text if it reads as text, else hex. */
export function chunkText(data: Buffer, size = data.length): string {
  const head = data.subarray(0, 100);
  for (let i = 0; i < head.length; i++) {
    const byte = head[i]!;
    if ((byte < 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) || byte === 0x7f) {
      return `${size} bytes: ${data.subarray(0, 16).toString('hex').replace(/(..)/g, '$1 ').trim()}${size > 16 ? ' …' : ''}`;
    }
  }
  return JSON.stringify(head.toString('utf8')) + (size > head.length ? `… (${size} bytes)` : '');
}

/** Each chunk is a message: for labs without a decoder, and for streams their decoder could not read. */
export function chunkDecoder(): StreamDecoder {
  return { push: (chunk) => [{ type: 'bytes', text: chunkText(chunk), raw: chunk }] };
}

interface Stream {
  from: () => Lane;
  to: () => Lane;
  link?: string;
  known: MessageEvent['known'];
  decoder?: StreamDecoder;
  /** Undelivered bytes of an unfinished message: when and at which clocks they were last added to. */
  partial?: { t: number; ls: number; lr: number };
}

export class Trace {
  private readonly began = now();
  readonly startedAt = new Date();
  private seq = 0;
  private graderClock = 0;
  private readonly lanes: Lane[] = [];
  private readonly byName = new Map<string, Lane>();
  private readonly messages = new Kept<MessageEvent>(limits.messages);
  private readonly expectations = new Kept<ExpectEvent>(limits.expectations);
  private readonly others = new Kept<LaneEvent | FaultEvent | NoteEvent>(limits.other);
  private readonly streams: Stream[] = [];
  /** Messages a proxy has received and not yet delivered, by the chunk that completed them. */
  private readonly inFlight = new Map<Buffer, MessageEvent[]>();
  decoders: DecoderFactory = chunkDecoder;
  /** SWITCHBOARD_TRACE=0 records nothing, to measure what recording costs. */
  readonly off = process.env.SWITCHBOARD_TRACE === '0';

  constructor(readonly test: string) {}

  /** Milliseconds since the test began. */
  time(): number {
    return now() - this.began;
  }

  /** A new lane; a name already taken gets " (2)", " (3)", ... */
  lane(name: string, role: Role): Lane {
    let unique = name;
    for (let n = 2; this.byName.has(unique); n++) unique = `${name} (${n})`;
    const lane: Lane = { id: this.lanes.length, name: unique, role, clock: 0 };
    this.lanes.push(lane);
    this.byName.set(unique, lane);
    return lane;
  }

  /** The lane `ref` names; a name no lane has yet becomes a grader lane. */
  resolve(ref: LaneRef): Lane {
    const value = typeof ref === 'function' ? ref() : ref;
    if (typeof value === 'string') return this.byName.get(value) ?? this.lane(value, 'grader');
    if ('traceLane' in value) return value.traceLane ?? this.byName.get('unknown') ?? this.lane('unknown', 'program');
    return value as Lane;
  }

  private clockOf(lane: Lane): number {
    return lane.role === 'grader' ? this.graderClock : lane.clock;
  }

  private setClock(lane: Lane, value: number): number {
    if (lane.role === 'grader') this.graderClock = value;
    else lane.clock = value;
    return value;
  }

  /** An event on `lane`: its clock ticks. */
  private tick(lane: Lane): number {
    return this.setClock(lane, this.clockOf(lane) + 1);
  }

  /** A receipt on `lane` of something stamped `stamp`. */
  private receive(lane: Lane, stamp: number): number {
    return this.setClock(lane, Math.max(this.clockOf(lane), stamp) + 1);
  }

  /** The grader's own clock, for what the test itself does (notes, faults, starting a program). */
  private graderTick(): number {
    return ++this.graderClock;
  }

  // ---- recording --------------------------------------------------------------------------

  /** A note of the test's (what h.note() says): it goes in the margin of the diagram. */
  note(text: string): void {
    if (this.off) return;
    this.others.add({ kind: 'note', seq: this.seq++, t: this.time(), l: this.graderTick(), text: cut(text, 300) });
  }

  /** Something that happened on one lane: a process started or exited, a connection closed. */
  event(ref: LaneRef, what: string, text: string, bad = false): void {
    if (this.off) return;
    const lane = this.resolve(ref);
    // What the grader does to a program (start, kill, pause) follows what the grader did before.
    const l = lane.role === 'program' && !['exit', 'ready'].includes(what) ? this.receive(lane, this.graderTick()) : this.tick(lane);
    this.others.add({ kind: 'event', seq: this.seq++, lane, t: this.time(), l, what, text: cut(text, 300), ...(bad && { bad }) });
  }

  /** A fault a proxy injected on the link between `from` and `to`. */
  fault(what: string, text: string, ends: { from?: Lane; to?: Lane; link?: string } = {}): void {
    if (this.off) return;
    this.others.add({ kind: 'fault', seq: this.seq++, t: this.time(), l: this.graderTick(), what, text, ...ends });
  }

  /** A wait of the test's ("waiting for the welcome") on `ref`'s lane; call done() when it ends. */
  expect(ref: LaneRef, what: string): ExpectHandle {
    if (this.off) return { done: () => undefined };
    const lane = this.resolve(ref);
    const event: ExpectEvent = { kind: 'expect', seq: this.seq++, lane, t: this.time(), ls: this.tick(lane), what: cut(what, 300) };
    this.expectations.add(event);
    return {
      done: (error?: unknown) => {
        if (event.end !== undefined) return;
        event.end = this.time();
        event.le = this.tick(lane);
        event.ok = error === undefined;
        if (error !== undefined) event.error = cut(error instanceof Error ? error.message : String(error), 2_000);
      },
    };
  }

  /**
   * A message the grader decoded itself (a lab's peer that has its own codec). The grader saw
   * it now, at one end; `known` says which.
   */
  message(m: { from: LaneRef; to: LaneRef; type: string; text: string; raw: Buffer; link?: string; known?: 'send' | 'receive' }): void {
    if (this.off) return;
    this.record(this.resolve(m.from), this.resolve(m.to), m, m.known ?? 'receive', m.link);
  }

  private record(from: Lane, to: Lane, d: Decoded, known: MessageEvent['known'], link?: string, lazy = false): MessageEvent {
    const t = this.time();
    const ls = this.tick(from);
    const event: MessageEvent = {
      kind: 'msg',
      seq: this.seq++,
      from,
      to,
      link,
      sent: t,
      ls,
      known,
      type: cut(d.type, 40),
      text: lazy ? undefined : cut(d.text),
      size: d.raw.length,
      hex: lazy ? undefined : d.raw.subarray(0, limits.hexBytes).toString('hex'),
    };
    if (known !== 'both') {
      event.recv = t;
      event.lr = this.receive(to, ls);
    }
    this.messages.add(event);
    return event;
  }

  /** Decodes `chunk` on `stream` and records each whole message. */
  private push(stream: Stream, chunk: Buffer): MessageEvent[] {
    if (this.off) return [];
    const from = stream.from();
    const to = stream.to();
    if (this.messages.headFull) {
      // Past the decoded half: the chunk as it came, its first bytes copied (so that the chunk
      // itself can be freed), described only if the trace is written.
      stream.partial = undefined;
      const event = this.record(from, to, { type: 'chunk', text: '', raw: chunk }, stream.known, stream.link, true);
      event.head = Buffer.from(chunk.subarray(0, 100));
      return [event];
    }
    stream.decoder ??= this.newDecoder(from, to);
    let decoded: Decoded[];
    try {
      decoded = stream.decoder.push(chunk);
    } catch (error) {
      // A decoder that cannot read the stream gives it up: the rest is shown chunk by chunk.
      stream.decoder = chunkDecoder();
      decoded = [{ type: 'unreadable', text: `the lab's decoder could not read this: ${(error as Error).message}`, raw: chunk }];
    }
    const events = decoded.map((d) => this.record(from, to, d, stream.known, stream.link));
    const pending = stream.decoder.pending?.().length ?? 0;
    if (pending === 0) stream.partial = undefined;
    else {
      // Not an event yet: it goes between this moment's stamps, and into the trace only if it never completes.
      const ls = this.clockOf(from) + 0.5;
      stream.partial = { t: this.time(), ls, lr: Math.max(this.clockOf(to), ls) + 0.5 };
    }
    return events;
  }

  private newDecoder(from: Lane, to: Lane): StreamDecoder {
    try {
      return this.decoders({ from: from.name, to: to.name });
    } catch {
      return chunkDecoder();
    }
  }

  private stream(from: () => Lane, to: () => Lane, known: MessageEvent['known'], link?: string): Stream {
    const stream: Stream = { from, to, known, link };
    this.streams.push(stream);
    return stream;
  }

  /**
   * The grader's end of a connection, `near`, to `far`: what it sends and receives is decoded
   * by the lab's protocol. `record: false` keeps only its events and waits (a proxy in between
   * records its messages, with both times).
   */
  link(near: LaneRef, far: LaneRef, options: { name?: string; record?: boolean } = {}): TraceLink {
    const nearLane = () => this.resolve(near);
    const farLane = () => this.resolve(far);
    const record = options.record ?? true;
    const out = this.stream(nearLane, farLane, 'send', options.name);
    const back = this.stream(farLane, nearLane, 'receive', options.name);
    return {
      get lane() {
        return nearLane();
      },
      sent: (data) => {
        if (record) this.push(out, typeof data === 'string' ? Buffer.from(data) : data);
      },
      received: (chunk) => {
        if (record) this.push(back, chunk);
      },
      event: (what, text, bad) => this.event(nearLane, what, text, bad),
      expect: (what) => this.expect(nearLane, what),
    };
  }

  /**
   * A program's lane, created now. With `terminal`, its standard input and output are messages
   * to and from a lane of their own, its terminal (a client's interface); without, they are a
   * server's log, which its log file keeps.
   */
  process(name: string, options: { terminal?: boolean } = {}): ProcTrace {
    const lane = this.lane(name, 'program');
    let terminal: Lane | undefined;
    const term = () => (terminal ??= this.lane(`${lane.name} terminal`, 'grader'));
    return {
      lane,
      event: (what, text, bad) => this.event(lane, what, text, bad),
      stdin: (text) => {
        if (this.off) return;
        for (const line of text.split(/(?<=\n)/)) if (line) this.record(term(), lane, { type: 'stdin', text: JSON.stringify(cut(line)), raw: Buffer.from(line) }, 'send');
      },
      stdout: (line) => {
        if (options.terminal && !this.off) this.record(lane, term(), { type: 'stdout', text: JSON.stringify(cut(line)), raw: Buffer.from(line) }, 'receive');
      },
      expect: (what) => this.expect(lane, what),
    };
  }

  /**
   * What a fault proxy reports, between two lanes: a chunk arrives from one side (its messages
   * are sent then), is delivered to the other (received then), or is lost.
   */
  proxyStreams(ends: (link: number, direction: 'forward' | 'backward') => { from: Lane; to: Lane } | undefined, name: () => string) {
    const streams = new Map<string, Stream>();
    const streamOf = (link: number, direction: 'forward' | 'backward'): Stream | undefined => {
      const key = `${link} ${direction}`;
      let stream = streams.get(key);
      if (!stream) {
        const lanes = ends(link, direction);
        if (!lanes) return undefined;
        stream = this.stream(() => lanes.from, () => lanes.to, 'both', `${name()} #${link}`);
        streams.set(key, stream);
      }
      return stream;
    };
    return {
      arrived: (link: number, direction: 'forward' | 'backward', chunk: Buffer) => {
        const stream = streamOf(link, direction);
        if (!stream) return;
        const events = this.push(stream, chunk);
        if (events.length) this.inFlight.set(chunk, events);
      },
      delivered: (chunk: Buffer) => {
        const events = this.inFlight.get(chunk);
        if (!events) return;
        this.inFlight.delete(chunk);
        const t = this.time();
        for (const event of events) {
          event.recv = t;
          event.lr = this.receive(event.to, event.ls);
        }
      },
      dropped: (chunk: Buffer, why: string) => {
        const events = this.inFlight.get(chunk);
        if (!events) return;
        this.inFlight.delete(chunk);
        for (const event of events) event.lost = why;
      },
    };
  }

  /** The test failed with `error`: marks the wait that failed, and the moment. */
  failed(error: string): void {
    if (this.off) return;
    const text = cut(error, 4_000);
    const waits = this.expectations.items().reverse();
    const first = error.split('\n')[0]!;
    // The wait whose failure is the test's; or, for a test that ran out of time, the one it was still in.
    const failing = waits.find((e) => e.error !== undefined && (e.error === text || e.error.split('\n')[0] === first)) ?? (/did not finish within its deadline/.test(first) ? waits.find((e) => e.end === undefined) : undefined);
    if (failing) failing.failing = true;
    this.others.add({ kind: 'failure', seq: this.seq++, t: this.time(), l: this.graderTick(), text, lane: failing?.lane });
  }

  // ---- writing ----------------------------------------------------------------------------

  get messageCount(): number {
    return this.messages.items().length;
  }

  /** The trace as JSON lines: a header, the lanes, then the events in the order they happened. */
  toJsonLines(outcome: 'passed' | 'failed'): string {
    const events: TraceEvent[] = [...this.messages.items(), ...this.expectations.items(), ...this.others.items()];
    // Bytes still waiting to make a message, on each stream: the student's server may have sent half a line.
    const partials: MessageEvent[] = [];
    for (const stream of this.streams) {
      const pending = stream.partial && stream.decoder?.pending?.();
      if (!stream.partial || !pending?.length) continue;
      const { t, ls, lr } = stream.partial;
      const known = stream.known;
      partials.push({
        kind: 'msg', seq: this.seq++, from: stream.from(), to: stream.to(), link: stream.link, sent: t, recv: known === 'both' ? undefined : t, ls, lr: known === 'both' ? undefined : lr, known,
        type: 'incomplete', text: `${pending.length} bytes that are not yet a whole message: ${chunkText(pending)}`, size: pending.length, hex: pending.subarray(0, limits.hexBytes).toString('hex'), partial: true,
      });
    }
    events.push(...partials);
    events.sort((a, b) => a.seq - b.seq);
    const used = new Set<Lane>();
    for (const e of events) {
      if ('lane' in e && e.lane) used.add(e.lane);
      if ('from' in e && e.from) used.add(e.from);
      if ('to' in e && e.to) used.add(e.to);
    }
    const lanes = this.lanes.filter((lane) => used.has(lane));
    const ms = (t: number | undefined) => (t === undefined ? undefined : Math.round(t * 1000) / 1000);
    const lines: string[] = [
      JSON.stringify({
        trace: 1,
        test: this.test,
        started: this.startedAt.toISOString(),
        outcome,
        lanes: lanes.length,
        events: events.length,
        dropped: { chunks: this.messages.dropped, waits: this.expectations.dropped, events: this.others.dropped },
      }),
      ...lanes.map((lane) => JSON.stringify({ kind: 'lane', id: lane.id, name: lane.name, role: lane.role })),
    ];
    // Where the trace stops decoding, and where it left events out: lines of their own, between the events.
    const before = new Map<number, string>();
    const after = new Map<number, string>();
    const decodedUntil = this.messages.bounds.headLast;
    if (this.messages.headFull && decodedUntil !== undefined) {
      after.set(decodedUntil, `from here on, messages are shown as the chunks that came, not decoded: a trace decodes the first ${Math.floor(limits.messages / 2).toLocaleString('en')}`);
    }
    for (const [store, what] of [[this.messages, 'chunks'], [this.expectations, 'waits'], [this.others, 'events']] as const) {
      const first = store.bounds.tailFirst;
      if (store.dropped > 0 && first !== undefined) before.set(first, `${store.dropped.toLocaleString('en')} ${what} happened here and were not kept (too many); the trace keeps the first and the last`);
    }
    const gap = (e: TraceEvent, text: string) => JSON.stringify({ kind: 'gap', t: ms(e.kind === 'msg' ? e.sent : e.t), text });
    for (const e of events) {
      const ahead = before.get(e.seq);
      if (ahead) lines.push(gap(e, ahead));
      lines.push(JSON.stringify(serialise(e, ms)));
      const behind = after.get(e.seq);
      if (behind) lines.push(gap(e, behind));
    }
    return `${lines.join('\n')}\n`;
  }

  /**
   * Writes trace.jsonl and trace.html into `dir`; returns their paths and the milliseconds it took.
   */
  async write(dir: string, outcome: 'passed' | 'failed'): Promise<{ jsonl: string; html: string; ms: number; bytes: { jsonl: number; html: number } }> {
    const started = now();
    mkdirSync(dir, { recursive: true });
    const text = this.toJsonLines(outcome);
    const jsonl = path.join(dir, 'trace.jsonl');
    const html = path.join(dir, 'trace.html');
    writeFileSync(jsonl, text);
    const { renderHtml } = await import('../trace/render.js');
    const page = renderHtml(text);
    writeFileSync(html, page);
    return { jsonl, html, ms: now() - started, bytes: { jsonl: Buffer.byteLength(text), html: Buffer.byteLength(page) } };
  }
}

function serialise(e: TraceEvent, ms: (t: number | undefined) => number | undefined): object {
  switch (e.kind) {
    case 'msg':
      return {
        kind: 'msg', from: e.from.id, to: e.to.id, ...(e.link && { link: e.link }), sent: ms(e.sent), recv: ms(e.recv), ls: e.ls, lr: e.lr, known: e.known,
        type: e.type, text: e.text ?? chunkText(e.head ?? Buffer.alloc(0), e.size), size: e.size, hex: e.hex ?? e.head?.subarray(0, limits.hexBytes).toString('hex') ?? '', ...(e.lost && { lost: e.lost }), ...(e.partial && { partial: true }),
      };
    case 'expect':
      return { kind: 'expect', lane: e.lane.id, t: ms(e.t), ls: e.ls, end: ms(e.end), le: e.le, what: e.what, ok: e.ok, error: e.error, ...(e.failing && { failing: true }) };
    case 'event':
      return { kind: 'event', lane: e.lane.id, t: ms(e.t), l: e.l, what: e.what, text: e.text, ...(e.bad && { bad: true }) };
    case 'fault':
      return { kind: 'fault', t: ms(e.t), l: e.l, what: e.what, text: e.text, from: e.from?.id, to: e.to?.id, link: e.link };
    default:
      return { kind: e.kind, t: ms(e.t), l: e.l, text: e.text, lane: e.lane?.id };
  }
}

/** Whether every test of this run writes its trace (the grader's --trace), not only failed ones. */
export function traceAll(): boolean {
  return process.env.SWITCHBOARD_TRACE === '1';
}

const factories = new Map<string, Promise<DecoderFactory>>();

/** The lab's decoders, from labs/NN-name/tests/trace.ts, or one message per chunk without it. */
export function labDecoders(root: string, labDir: string): Promise<DecoderFactory> {
  let found = factories.get(labDir);
  if (!found) {
    const file = path.join(root, 'labs', labDir, 'tests', 'trace.ts');
    found = existsSync(file)
      ? importTypeScript(root, file).then(
          (module) => {
            const factory = (module as { default?: DecoderFactory }).default;
            return typeof factory === 'function' ? factory : chunkDecoder;
          },
          () => chunkDecoder,
        )
      : Promise.resolve(chunkDecoder);
    factories.set(labDir, found);
  }
  return found;
}
