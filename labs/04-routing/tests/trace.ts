// How a lab 4 test's trace shows its messages: one per relay-chat message (spec/04-routing.md
// section 3), split and described by the grader's own codec (crc.ts). A stream that stops
// making sense (an unknown type byte) is shown chunk by chunk from there on.
// Not a test file; the harness loads it for the lab's traces (see labs/AUTHORING.md, Traces).
import type { Decoded, DecoderFactory, StreamDecoder } from '../../../grader/harness/trace.js';
import { Decoder, T, describe } from './crc.js';

const names: Record<number, string> = {
  [T.serverRegistration]: 'server registration',
  [T.clientRegistration]: 'client registration',
  [T.status]: 'status',
  [T.chat]: 'chat',
  [T.clientQuit]: 'client quit',
  [T.serverQuit]: 'server quit',
};

class Messages implements StreamDecoder {
  private readonly decoder = new Decoder();
  private said = false;
  /** The bytes of an unfinished message: the end of what came, as long as the codec says it keeps. */
  private rest = Buffer.alloc(0);

  push(chunk: Buffer): Decoded[] {
    if (this.decoder.broken) {
      const first = !this.said;
      this.said = true;
      return [{ type: 'unreadable', text: first ? `${this.decoder.broken}; ${chunk.length} bytes` : `${chunk.length} more bytes of a stream that no longer makes sense`, raw: chunk }];
    }
    const out: Decoded[] = this.decoder.push(chunk).map(({ msg, raw }) => ({ type: names[msg.type] ?? 'message', text: describe(msg), raw }));
    const left = this.decoder.leftover;
    this.rest = left === 0 ? Buffer.alloc(0) : Buffer.from(Buffer.concat([this.rest, chunk]).subarray(-left));
    if (this.decoder.broken) {
      this.said = true;
      out.push({ type: 'unreadable', text: this.decoder.broken, raw: chunk });
    }
    return out;
  }

  pending(): Buffer {
    return this.decoder.broken ? Buffer.alloc(0) : this.rest;
  }
}

const decoders: DecoderFactory = () => new Messages();
export default decoders;
