// Frames (spec/03-protocol.md, section 2): a 12-byte header, the message type (int64, big-endian)
// and the payload length (u32, big-endian), then the payload.
//
// TCP delivers a byte stream, cut wherever the network likes, so a FrameReader reassembles: it
// keeps what has arrived and hands out a frame only once all of it is there. It checks each
// header's length against the maximum before waiting for the payload, so a hostile header cannot
// make it buffer gigabytes.
export const headerBytes = 12;
export const maxPayload = 1024 * 1024;

export interface Frame {
  type: bigint;
  payload: Buffer;
}

/** A header announced a payload over the maximum. Framing is lost: the connection must close. */
export class FrameTooLarge extends Error {
  constructor(
    readonly type: bigint,
    readonly length: number,
  ) {
    super(`a frame of type ${type} announces ${length} payload bytes; the maximum is ${maxPayload}`);
    this.name = 'FrameTooLarge';
  }
}

export function encodeFrame(type: bigint, payload: Buffer): Buffer {
  const header = Buffer.alloc(headerBytes);
  header.writeBigInt64BE(type, 0);
  header.writeUInt32BE(payload.length, 8);
  return Buffer.concat([header, payload]);
}

export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The header of the frame being reassembled, once all 12 of its bytes are in. */
  private header: { type: bigint; length: number } | undefined;

  /** Adds bytes as they arrived from the network. */
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete frame, or undefined until more bytes arrive. Throws FrameTooLarge. */
  next(): Frame | undefined {
    if (!this.header) {
      if (this.buffered < headerBytes) return undefined;
      const bytes = this.take(headerBytes);
      const header = { type: bytes.readBigInt64BE(0), length: bytes.readUInt32BE(8) };
      if (header.length > maxPayload) throw new FrameTooLarge(header.type, header.length);
      this.header = header;
    }
    if (this.buffered < this.header.length) return undefined;
    const frame = { type: this.header.type, payload: this.take(this.header.length) };
    this.header = undefined;
    return frame;
  }

  /** Removes the first n buffered bytes (n <= buffered). Chunks are joined only when a piece spans them. */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    const first = this.chunks[0]!;
    const piece = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return piece;
  }
}
