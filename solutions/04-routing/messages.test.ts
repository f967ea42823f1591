// The Reader against the one thing TCP guarantees: the bytes, in order, cut anywhere. Any list
// of messages, joined and cut at random places, must come out whole and unchanged.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CLIENT_REGISTRATION, Reader, SERVER_REGISTRATION, encodeChat, encodeClientQuit, encodeRegistration, encodeServerQuit, encodeStatus } from './messages.js';

const id = fc.integer({ min: 0, max: 0xffffffff });
const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const name = fc.string({ unit: 'grapheme', maxLength: 20 });
const message = fc.oneof(
  fc.tuple(fc.constantFrom(SERVER_REGISTRATION, CLIENT_REGISTRATION), id, id, name, text).map(([t, s, h, n, i]) => encodeRegistration(t, s, h, n, i)),
  fc.tuple(id, id, fc.integer({ min: 0, max: 0xffff }), text).map(([s, d, c, x]) => encodeStatus(s, d, c, x)),
  fc.tuple(id, id, text).map(([s, d, x]) => encodeChat(s, d, x)),
  fc.tuple(id, text).map(([s, x]) => encodeClientQuit(s, x)),
  fc.tuple(id, id, text).map(([s, r, x]) => encodeServerQuit(s, x, r)),
);

function readAll(reader: Reader): Buffer[] {
  const out: Buffer[] = [];
  for (let read = reader.next(); read; read = reader.next()) {
    if ('error' in read) throw new Error(read.error);
    out.push(read.bytes);
  }
  return out;
}

describe('Reader', () => {
  test('gives back every message whole, however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(message, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 30 }), (messages, cuts) => {
        const stream = Buffer.concat(messages);
        const reader = new Reader();
        const got: Buffer[] = [];
        let at = 0;
        for (const size of [...cuts, stream.length]) {
          reader.push(stream.subarray(at, at + size));
          at += size;
          got.push(...readAll(reader));
          if (at >= stream.length) break;
        }
        expect(got).toEqual(messages);
      }),
    );
  });

  test('stops at a byte that starts no message, and at a text over 1 MiB', () => {
    const unknown = new Reader();
    unknown.push(Buffer.concat([encodeChat(1, 2, 'ok'), Buffer.from([0x7f, 1, 2, 3])]));
    expect(unknown.next()).toMatchObject({ message: { type: 0x81, text: 'ok' } });
    expect(unknown.next()).toEqual({ error: 'Unknown message type 0x7f' });
    expect(unknown.next()).toBeUndefined();

    const long = new Reader();
    long.push(Buffer.from([0x82, 0, 0, 0, 1, 0x00, 0x10, 0x00, 0x01]));
    expect(long.next()).toEqual({ error: 'Message too long' });
  });
});
