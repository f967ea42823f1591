// What the grader saw while it killed a server again and again (phases 5.2 and 5.4): every SEND
// it made and the SENT it got for it, every message delivered to it and the server run (between two
// kills) that delivered it; and the rules of spec sections 6 and 7 checked over all of it.
import { GradeFailure, type Proc } from '../../../grader/harness/index.js';
import { message as frameOf } from '../../03-protocol/tests/wire.js';
import { Peer, T, asMessage, map, type Msg } from './durable.js';

export interface Sent {
  sender: string;
  k: number;
  /** The server run (between two kills) it was sent in: one connection's sends survive as a prefix. */
  run: number;
  to: string;
  text: string;
  /** The id its SENT gave; undefined if no SENT arrived before the kill. */
  id?: bigint;
}

/**
 * What the grader saw over all the rounds of a test: every SEND it made and each one's SENT, and
 * every message delivered to it, with the server run (between two kills) that delivered it.
 */
export class History {
  readonly sends = new Map<string, Sent[]>();
  readonly delivered: { message: Msg; to: string; run: number }[] = [];
  run = 1;

  send(sender: string, to: string): Sent {
    const list = this.sends.get(sender) ?? [];
    this.sends.set(sender, list);
    const sent = { sender, k: list.length + 1, run: this.run, to, text: `${sender} #${list.length + 1}` };
    list.push(sent);
    return sent;
  }

  deliver(to: string, messages: Msg[]): void {
    for (const message of messages) this.delivered.push({ message, to, run: this.run });
  }

  /** The rules of spec sections 6 and 7, checked over everything seen so far. */
  check(when: string): void {
    const byText = new Map<string, Sent>();
    for (const list of this.sends.values()) for (const s of list) byText.set(s.text, s);
    const seen = new Map<bigint, number>();
    const present = new Set<string>();
    for (const { message, to, run } of this.delivered) {
      const sent = byText.get(message.text);
      if (!sent || sent.sender !== message.from || sent.to !== to) {
        throw new GradeFailure(`${when}: ${to} received message ${message.id} ${JSON.stringify(message.text)} from ${message.from}, which no one sent to ${to}: nothing half-applied or mixed up may come out of recovery`);
      }
      if (sent.id !== undefined && sent.id !== message.id) {
        throw new GradeFailure(`${when}: ${sent.text} was acknowledged with id ${sent.id}, but ${to} received it with id ${message.id}: a message keeps its id across a crash`);
      }
      if (seen.get(message.id) === run) throw new GradeFailure(`${when}: ${to} received message ${message.id} (${JSON.stringify(message.text)}) twice while the server ran once: only a crash may repeat a delivery (spec section 7)`);
      seen.set(message.id, run);
      present.add(message.text);
    }
    for (const [sender, list] of this.sends) {
      const lost = list.filter((s) => s.id !== undefined && !present.has(s.text));
      if (lost.length > 0) {
        throw new GradeFailure(
          `${when}: ${lost.length} message(s) that ${sender} sent and the server acknowledged with SENT were lost: ${lost.slice(0, 5).map((s) => `${s.text} (id ${s.id}, to ${s.to})`).join(', ')}. ` +
            'An acknowledged change must be on disk before its reply is sent (spec section 6).',
        );
      }
      // The log is written in the order requests arrive on a connection: what survives is a prefix.
      for (let run = 1; run <= this.run; run++) {
        const mine = list.filter((s) => s.run === run);
        const last = mine.reduce((max, s) => (present.has(s.text) ? Math.max(max, s.k) : max), 0);
        const gaps = mine.filter((s) => s.k < last && !present.has(s.text));
        if (gaps.length > 0) throw new GradeFailure(`${when}: ${sender}'s message #${last} survived the crash but earlier ones sent on the same connection did not: ${gaps.slice(0, 5).map((s) => s.text).join(', ')}. Each sender's messages are kept in the order they were sent.`);
      }
      const ids = list.filter((s) => s.id !== undefined).map((s) => s.id!);
      for (let i = 1; i < ids.length; i++) if (ids[i]! <= ids[i - 1]!) throw new GradeFailure(`${when}: ${sender}'s messages got ids ${ids[i - 1]} and then ${ids[i]}: ids only grow`);
    }
  }

  maxId(): bigint {
    let max = 0n;
    for (const { message } of this.delivered) if (message.id > max) max = message.id;
    for (const list of this.sends.values()) for (const s of list) if (s.id !== undefined && s.id > max) max = s.id;
    return max;
  }
}

/** Sends messages with up to `window` in flight until the connection dies; records every SENT. */
export async function keepSending(peer: Peer, history: History, recipients: string[], window: number): Promise<void> {
  const inFlight: Sent[] = [];
  for (;;) {
    while (inFlight.length < window) {
      const sent = history.send(peer.name, recipients[(history.sends.get(peer.name)?.length ?? 0) % recipients.length]!);
      try {
        peer.conn.send(encodeSend(sent));
      } catch {
        return;
      }
      inFlight.push(sent);
    }
    let frame;
    try {
      frame = await peer.readReply(`SENT for ${inFlight[0]!.text}`, { timeoutMs: 20_000 });
    } catch {
      return; // The server was killed: what is still in flight was never acknowledged.
    }
    const sent = inFlight.shift()!;
    const reply = peer.decode(frame, 'a SENT reply');
    const id = reply instanceof Map ? reply.get('id') : undefined;
    if (frame.type !== BigInt(T.SENT) || typeof id !== 'bigint') throw new GradeFailure(`${peer.name} expected SENT {id} for ${sent.text} and got ${peer.describe(frame)}`);
    sent.id = id;
  }
}

function encodeSend(sent: Sent): Buffer {
  return frameOf(T.SEND, map({ to: sent.to, text: sent.text }));
}

/** Reads every frame left on a connection that the server's death closed: the pushes it sent. */
export async function pushesUntilClosed(peer: Peer): Promise<Msg[]> {
  const out = peer.pushes.splice(0).map((f) => asMessage(peer.decode(f, 'a pushed MESSAGE')));
  for (;;) {
    let frame;
    try {
      frame = await peer.readFrame('a pushed MESSAGE, or the end of the connection', { timeoutMs: 10_000 });
    } catch {
      return out;
    }
    if (frame.type !== BigInt(T.MESSAGE)) throw new GradeFailure(`${peer.name}, which only waits for pushes, got ${peer.describe(frame)}`);
    out.push(asMessage(peer.decode(frame, 'a pushed MESSAGE')));
  }
}

export async function kill9(server: Proc): Promise<void> {
  await server.kill('SIGKILL');
  if (!server.exit) throw new GradeFailure(`${server.name} was sent SIGKILL and had not exited 2 s later`);
}

