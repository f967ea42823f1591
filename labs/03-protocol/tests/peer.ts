// The grader's side of a lab 3 connection: a Conn that speaks in frames. It sends requests in
// canonical form, reads replies while setting aside any MESSAGE the server pushes in between,
// and checks what arrives byte for byte against the canonical encoding of what the spec says
// must arrive. Failures show both as values and as a hex diff at the first differing byte.
import type { Conn, Harness, Proc } from '../../../grader/harness/index.js';
import { GradeFailure } from '../../../grader/harness/index.js';
import { describeExit } from '../../../grader/harness/process.js';
import { hexDiff, hexDump } from '../../../grader/harness/show.js';
import {
  T,
  WireError,
  decodePayload,
  equalValues,
  headerBytes,
  map,
  maxPayload,
  message,
  show,
  typeName,
  type Value,
  type ValueMap,
  type Wire,
} from './wire.js';

export interface Frame {
  type: bigint;
  payload: Buffer;
  /** The whole frame as it arrived, header included. */
  bytes: Buffer;
}

export interface ExpectOptions {
  timeoutMs?: number;
}

export class Peer {
  /** MESSAGE frames that arrived while a reply was awaited, oldest first. */
  readonly pushes: Frame[] = [];

  constructor(
    readonly conn: Conn,
    private readonly h: Harness,
    readonly wire: Wire = 'binary',
  ) {}

  static async connect(h: Harness, server: Proc, options: { name?: string; wire?: Wire } = {}): Promise<Peer> {
    return new Peer(await h.connect(server, { name: options.name }), h, options.wire ?? 'binary');
  }

  get name(): string {
    return this.conn.name;
  }

  /** Sends one request, canonically encoded in this peer's encoding. */
  send(type: number | bigint, payload: Value): void {
    this.h.note(`${this.name} sends ${typeName(type)} ${show(payload, 160)}`);
    this.conn.send(message(type, payload, this.wire));
  }

  /** Sends bytes the test built by hand; `description` says what they are, for the transcript. */
  sendRaw(bytes: Buffer, description: string): void {
    this.h.note(`${this.name} sends ${description}`);
    this.conn.send(bytes);
  }

  /** Reads one whole frame, whatever its type. */
  async readFrame(what: string, options: ExpectOptions = {}): Promise<Frame> {
    const head = await this.conn.readBytes(headerBytes, { what: `the 12-byte header of ${what}`, timeoutMs: options.timeoutMs });
    const type = head.readBigInt64BE(0);
    const length = head.readUInt32BE(8);
    if (length > maxPayload) {
      // A common slip: the length written little-endian. Say so when that reading makes sense.
      const swapped = head.readUInt32LE(8);
      const hint = swapped <= maxPayload ? `\nRead little-endian, its length bytes would say ${swapped}: the length is big-endian, most significant byte first (spec section 2).` : '';
      throw new GradeFailure(`${this.name} waited for ${what} and got a header announcing ${length} payload bytes, over the maximum of ${maxPayload}:\n${hexDump(head)}${hint}`);
    }
    const payload = await this.conn.readBytes(length, { what: `the ${length}-byte payload of ${what} (${typeName(type)})`, timeoutMs: options.timeoutMs });
    return { type, payload, bytes: Buffer.concat([head, payload]) };
  }

  /** The next frame that is not a pushed MESSAGE; pushes met on the way are kept in `pushes`. */
  async readReply(what: string, options: ExpectOptions = {}): Promise<Frame> {
    for (;;) {
      const frame = await this.readFrame(what, options);
      if (frame.type !== BigInt(T.MESSAGE)) return frame;
      this.h.note(`${this.name} got a pushed ${this.describe(frame)} (kept for later)`);
      this.pushes.push(frame);
    }
  }

  /** A frame as "TYPE (n) {value}", or its hex when the payload does not decode. */
  describe(frame: Frame): string {
    try {
      return `${typeName(frame.type)} ${show(decodePayload(frame.payload, this.wire))}`;
    } catch (error) {
      return `${typeName(frame.type)} with a payload that does not decode (${(error as Error).message}):\n${hexDump(frame.payload)}`;
    }
  }

  /** Decodes a frame's payload, failing with an explanation if it does not decode. */
  decode(frame: Frame, what: string): Value {
    try {
      return decodePayload(frame.payload, this.wire);
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      throw new GradeFailure(`${this.name} got ${what} as ${typeName(frame.type)}, but its payload does not decode: ${error.message}\n${hexDump(frame.bytes, 0, 8)}`);
    }
  }

  /** Reads the next reply and requires it to be exactly the canonical frame `type` `value`. */
  async expectReply(type: number, value: Value, what: string, options: ExpectOptions = {}): Promise<void> {
    const frame = await this.readReply(what, options);
    this.h.note(`${this.name} got ${this.describe(frame)}`);
    this.compare(frame, type, value, what);
  }

  /** Reads the next pushed MESSAGE (one already set aside first) and requires it to be exactly `msg`. */
  async expectPush(msg: { from: string; id: bigint; text: string }, what: string, options: ExpectOptions = {}): Promise<void> {
    const frame = this.pushes.shift() ?? (await this.readFrame(what, options));
    if (frame.type !== BigInt(T.MESSAGE)) {
      throw new GradeFailure(`${this.name} waited for ${what}, a pushed MESSAGE (150), and got ${this.describe(frame)} instead: no request was waiting for a reply`);
    }
    this.compare(frame, T.MESSAGE, map(msg), what);
  }

  /** Reads the next frame, whatever it is, and requires it to be exactly `type` `value`: for frames a client sends. */
  async expectFrame(type: number, value: Value, what: string, options: ExpectOptions = {}): Promise<void> {
    const frame = await this.readFrame(what, options);
    this.h.note(`${this.name} got ${this.describe(frame)}`);
    this.compare(frame, type, value, what);
  }

  /** Requires a frame already read to be exactly the canonical frame `type` `value`. */
  check(frame: Frame, type: number, value: Value, what: string): void {
    this.h.note(`${this.name} got ${this.describe(frame)}`);
    this.compare(frame, type, value, what);
  }

  private compare(frame: Frame, type: number, value: Value, what: string): void {
    const expected = message(type, value, this.wire);
    if (frame.bytes.equals(expected)) return;
    let hint = '';
    if (frame.type === BigInt(type)) {
      try {
        if (equalValues(decodePayload(frame.payload, this.wire), value)) {
          hint = `\nThe value is right but its encoding is not canonical: ${this.wire === 'json' ? 'no whitespace, ' : ''}map keys in ascending order of their UTF-8 bytes (spec section ${this.wire === 'json' ? '10' : '3'}).`;
        }
      } catch {
        // The diff below says enough.
      }
    }
    throw new GradeFailure(
      `${this.name} expected ${what}:\n  ${typeName(type)} ${show(value)}\nand got:\n  ${this.describe(frame)}${hint}\n${hexDiff(expected, frame.bytes)}`,
    );
  }

  /** Reads the next reply and requires an ERROR with this code; returns its message text. */
  async expectError(code: string, what: string, options: ExpectOptions = {}): Promise<string> {
    const frame = await this.readReply(what, options);
    this.h.note(`${this.name} got ${this.describe(frame)}`);
    if (frame.type !== BigInt(T.ERROR)) {
      throw new GradeFailure(`${this.name} expected ${what}: ERROR (100) with code "${code}", and got ${this.describe(frame)}`);
    }
    const value = this.decode(frame, what);
    const fields = value instanceof Map ? [...value.keys()].sort().join(',') : '';
    if (!(value instanceof Map) || fields !== 'code,message' || typeof value.get('code') !== 'string' || typeof value.get('message') !== 'string') {
      throw new GradeFailure(`${this.name} got an ERROR for ${what}, but its payload must be exactly {code: string, message: string}; it is ${show(value)}`);
    }
    if (value.get('code') !== code) {
      throw new GradeFailure(`${this.name} expected ${what}: an ERROR with code "${code}", and got code "${String(value.get('code'))}" (message: ${JSON.stringify(value.get('message'))})`);
    }
    this.compare(frame, T.ERROR, value, `${what} (canonically encoded)`);
    return value.get('message') as string;
  }

  /** Sends a request and returns its reply's payload, which must be a map and of `replyType`. */
  async call(type: number, payload: Value, replyType: number, what: string): Promise<ValueMap> {
    this.send(type, payload);
    const frame = await this.readReply(what);
    this.h.note(`${this.name} got ${this.describe(frame)}`);
    if (frame.type !== BigInt(replyType)) {
      throw new GradeFailure(`${this.name} expected ${what}: ${typeName(replyType)}, and got ${this.describe(frame)}`);
    }
    const value = this.decode(frame, what);
    if (!(value instanceof Map)) throw new GradeFailure(`${this.name} got ${what}, but its payload is ${show(value)}, not a map`);
    return value;
  }

  /**
   * A PING round trip: proves the connection still works, and, since the server answers in order,
   * that everything it meant to send before the PONG has arrived.
   */
  async ping(what = 'the connection still works after that', value: Value = 'still there?'): Promise<void> {
    this.send(T.PING, map({ value }));
    await this.expectReply(T.PONG, map({ value }), `a PONG: ${what}`);
  }

  /** Requires that no MESSAGE has been pushed to this peer, up to a PING round trip from now. */
  async expectNoPush(why: string): Promise<void> {
    await this.ping(`a PONG (checking that nothing was pushed: ${why})`);
    const push = this.pushes.shift();
    if (push) throw new GradeFailure(`${this.name} got a pushed ${this.describe(push)}, but ${why}`);
  }
}

// ---- Steps most tests take, each checked byte for byte.

export async function createAccount(peer: Peer, name: string, password = `pw-${name}`): Promise<void> {
  peer.send(T.CREATE_ACCOUNT, map({ name, password }));
  await peer.expectReply(T.ACCOUNT_CREATED, map({ name }), `ACCOUNT_CREATED for "${name}"`);
}

export async function login(peer: Peer, name: string, waiting = 0, password = `pw-${name}`): Promise<void> {
  peer.send(T.LOGIN, map({ name, password }));
  await peer.expectReply(T.LOGGED_IN, map({ name, waiting: BigInt(waiting) }), `LOGGED_IN for "${name}" with ${waiting} waiting`);
}

/** A connection logged in to a new account. */
export async function user(h: Harness, server: Proc, name: string, wire: Wire = 'binary'): Promise<Peer> {
  const peer = await Peer.connect(h, server, { name, wire });
  await createAccount(peer, name);
  await login(peer, name);
  return peer;
}

/** Sends a message and returns the id the server gave it, which must be a positive int. */
export async function sendMessage(peer: Peer, to: string, text: string): Promise<bigint> {
  const reply = await peer.call(T.SEND, map({ to, text }), T.SENT, `SENT for a message to ${to}`);
  const id = reply.get('id');
  if (typeof id !== 'bigint' || id <= 0n || reply.size !== 1) {
    throw new GradeFailure(`${peer.name} got SENT ${show(reply)}; it must be {id: int}, with a positive id`);
  }
  return id;
}

/** Reads with `limit` and requires exactly these messages and this remaining count, byte for byte. */
export async function expectRead(peer: Peer, limit: number, messages: { from: string; id: bigint; text: string }[], remaining: number, what: string): Promise<void> {
  peer.send(T.READ, map({ limit: BigInt(limit) }));
  await peer.expectReply(T.MESSAGES, map({ messages: messages.map((m) => map(m)), remaining: BigInt(remaining) }), what);
}

/** Requires that `server` is still running. */
export function stillRunning(server: Proc): void {
  if (server.exit) throw new GradeFailure(`the server stopped, though it must survive any input: ${describeExit(server.exit)}${server.tailText()}`);
}

/** A client program connected to a fake server the test plays; `link` is the fake server's end. */
export async function clientWithFakeServer(h: Harness, wire: Wire = 'binary', name = 'client'): Promise<{ client: Proc; link: Peer }> {
  const fake = await h.fakeServer();
  const client = await h.start('client', { name, params: { port: fake.port, ...(wire === 'json' ? { wire } : {}) } });
  const conn = await fake.accept({ from: client, what: 'the client to connect' });
  return { client, link: new Peer(conn, h, wire) };
}
