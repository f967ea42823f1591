// Frames (spec/03-protocol.md, section 2): a 12-byte header, the message type (int64, big-endian)
// and the payload length (u32, big-endian), then the payload.
import { NotImplemented } from './todo.js';

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

/** The header (type: int64 big-endian, length: u32 big-endian), then the payload. */
export function encodeFrame(type: bigint, payload: Buffer): Buffer {
  throw new NotImplemented('3.1', 'encodeFrame in frames.ts');
}

/**
 * Reassembles frames from a TCP byte stream. TCP keeps the bytes in order but not their grouping:
 * one 'data' chunk may hold part of a header, a header and part of a payload, or several frames,
 * cut anywhere. push() adds a chunk as it arrived; next() hands out complete frames one at a time.
 */
export class FrameReader {
  /** Adds bytes as they arrived from the network. */
  push(chunk: Buffer): void {
    throw new NotImplemented('3.1', 'FrameReader.push in frames.ts');
  }

  /**
   * The next complete frame, or undefined until more bytes arrive. As soon as a header is complete,
   * check its length: over maxPayload, throw FrameTooLarge, before waiting for (or making room
   * for) the payload. A payload of exactly maxPayload bytes is allowed.
   */
  next(): Frame | undefined {
    throw new NotImplemented('3.1', 'FrameReader.next in frames.ts');
  }
}
