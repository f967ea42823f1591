// How a lab 3 test's trace shows its messages: one per frame (spec/03-protocol.md section 2),
// named by its type and shown as its value, decoded with the grader's own codec (wire.ts), in
// either encoding: a payload that starts with a tag byte (0x00 to 0x03) is binary, any other is
// JSON (section 10). Lab 5 speaks the same protocol and uses this file too.
// Not a test file; the harness loads it for the lab's traces (see labs/AUTHORING.md, Traces).
import type { Decoded, DecoderFactory, StreamDecoder } from '../../../grader/harness/trace.js';
import { decodeJson, decodeValue, headerBytes, maxPayload, show, typeName, type Value } from './wire.js';

function describePayload(payload: Buffer): string {
  if (payload.length === 0) return '(no payload)';
  let value: Value;
  try {
    value = payload[0]! <= 0x03 ? decodeValue(payload) : decodeJson(payload);
  } catch (error) {
    return `(a payload that does not decode: ${(error as Error).message})`;
  }
  return show(value, 200);
}

class Frames implements StreamDecoder {
  private rest = Buffer.alloc(0);
  /** Set once a header announces more than a frame may hold: the stream cannot be split any more. */
  private lost = false;

  push(chunk: Buffer): Decoded[] {
    if (this.lost) return [{ type: 'unreadable', text: `${chunk.length} more bytes after a frame too large to read`, raw: chunk }];
    let data = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const out: Decoded[] = [];
    while (data.length >= headerBytes) {
      const type = data.readBigInt64BE(0);
      const length = data.readUInt32BE(8);
      if (length > maxPayload) {
        this.lost = true;
        this.rest = Buffer.alloc(0);
        out.push({ type: 'frame too large', text: `a header announcing ${length} payload bytes (${typeName(type)}), over the maximum of ${maxPayload}`, raw: data });
        return out;
      }
      if (data.length < headerBytes + length) break;
      const raw = data.subarray(0, headerBytes + length);
      const name = typeName(type).replace(/ \(\d+\)$/, '');
      out.push({ type: name, text: `${name} ${describePayload(raw.subarray(headerBytes))}`, raw });
      data = data.subarray(headerBytes + length);
    }
    this.rest = data.length ? Buffer.from(data) : Buffer.alloc(0);
    return out;
  }

  pending(): Buffer {
    return this.rest;
  }
}

const decoders: DecoderFactory = () => new Frames();
export default decoders;
