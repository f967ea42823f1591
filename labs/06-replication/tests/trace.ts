// How a lab 6 test's trace shows its messages: lab 3's frames with lab 6's types named (the
// replicas' HEARTBEAT, APPEND, ELECTION, ... and the clients' requests), decoded by wire.ts's
// MessageDecoder, on the grader's connections and on the proxies between replicas.
// Not a test file; the harness loads it for the lab's traces (see labs/AUTHORING.md, Traces).
// Lab 7 reuses it with its own types' names (messageTraces).
import type { Decoded, DecoderFactory, StreamDecoder } from '../../../grader/harness/trace.js';
import { MessageDecoder, describeMessage, type Decoded as Message } from './wire.js';

interface Frames {
  push(chunk: Buffer): Message[];
}

class Messages implements StreamDecoder {
  constructor(
    private readonly decoder: Frames,
    private readonly describe: (m: Message) => string,
  ) {}

  /** The bytes not yet part of a whole message: MessageDecoder keeps its own, this keeps them to show. */
  private rest = Buffer.alloc(0);
  private lost = false;

  push(chunk: Buffer): Decoded[] {
    if (this.lost) return [{ type: 'unreadable', text: `${chunk.length} more bytes after a frame too large to read`, raw: chunk }];
    let data = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const out: Decoded[] = [];
    for (const m of this.decoder.push(chunk)) {
      const raw = data.subarray(0, m.bytes);
      data = data.subarray(m.bytes);
      out.push({ type: m.name.replace(/ \(\d+\)$/, ''), text: this.describe(m), raw });
      if (m.error?.includes('framing is lost')) this.lost = true;
    }
    this.rest = this.lost || data.length === 0 ? Buffer.alloc(0) : Buffer.from(data);
    return out;
  }

  pending(): Buffer {
    return this.rest;
  }
}

/** Trace decoders for a lab whose messages `decoder` reads and `describe` shows. */
export function messageTraces(decoder: () => Frames, describe: (m: Message) => string): DecoderFactory {
  return () => new Messages(decoder(), describe);
}

export default messageTraces(() => new MessageDecoder(), describeMessage);
