// How a lab 7 test's trace shows its messages: lab 3's frames with lab 7's types named (the
// replicas' HEARTBEAT, APPEND, VOTE_REQUEST, ... and the clients' requests), decoded by wire.ts's
// MessageDecoder, on the grader's connections and on the proxies between replicas.
// Not a test file; the harness loads it for the lab's traces (see labs/AUTHORING.md, Traces).
import type { Decoded, DecoderFactory, StreamDecoder } from '../../../grader/harness/trace.js';
import { MessageDecoder, describeMessage } from './wire.js';

class Messages implements StreamDecoder {
  private readonly decoder = new MessageDecoder();
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
      out.push({ type: m.name.replace(/ \(\d+\)$/, ''), text: describeMessage(m), raw });
      if (m.error?.includes('framing is lost')) this.lost = true;
    }
    this.rest = this.lost || data.length === 0 ? Buffer.alloc(0) : Buffer.from(data);
    return out;
  }

  pending(): Buffer {
    return this.rest;
  }
}

const decoders: DecoderFactory = () => new Messages();
export default decoders;
