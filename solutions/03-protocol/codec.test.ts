// The kit's own property tests for the reference codec (not a phase test: students never run it).
// For random values, decoding an encoding gives the value back, in binary and in JSON; random and
// damaged bytes never make a decoder throw anything but its DecodeError; the FrameReader gives the
// same frames however the stream is cut; and the reference encoders agree byte for byte with the
// grader's independent codec in labs/03-protocol/tests/wire.ts.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import * as grader from '../../labs/03-protocol/tests/wire.js';
import { decodeValue } from './decode.js';
import { encodeValue } from './encode.js';
import { FrameReader, FrameTooLarge, encodeFrame, maxPayload, type Frame } from './frames.js';
import { decodeJson, encodeJson, jsonIntMax } from './json.js';
import { DecodeError, int64Max, int64Min, type Value } from './values.js';

/** Random values: ints across the whole int64 range (or only JSON's), any Unicode text, nesting. */
function values(ints: fc.Arbitrary<bigint>): fc.Arbitrary<Value> {
  const text = fc.string({ unit: 'binary', maxLength: 12 });
  const { value } = fc.letrec<{ value: Value }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      ints,
      text,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.uniqueArray(fc.tuple(text, tie('value')), { maxLength: 4, selector: ([key]) => key }).map((pairs) => new Map(pairs)),
    ),
  }));
  return value;
}

const binaryValues = values(fc.oneof(fc.bigInt({ min: int64Min, max: int64Max }), fc.constantFrom(int64Min, int64Max, 0n, -1n, 2n ** 53n + 1n)));
const jsonValues = values(fc.bigInt({ min: -jsonIntMax, max: jsonIntMax }));

/** Runs `decode` and requires it to return or to throw a DecodeError, nothing else. */
function onlyDecodeErrors(decode: (bytes: Buffer) => unknown, bytes: Buffer): void {
  try {
    decode(bytes);
  } catch (error) {
    if (!(error instanceof DecodeError)) throw new Error(`${bytes.toString('hex')} threw ${(error as Error).name}: ${(error as Error).message}`);
  }
}

describe('binary values', () => {
  test('decode(encode(v)) equals v', () => {
    fc.assert(
      fc.property(binaryValues, (v) => {
        expect(decodeValue(encodeValue(v))).toEqual(v);
      }),
      { numRuns: 2000 },
    );
  });

  test('the encoding is canonical: encoding what was decoded gives the same bytes', () => {
    fc.assert(
      fc.property(binaryValues, (v) => {
        const bytes = encodeValue(v);
        expect(encodeValue(decodeValue(bytes)).equals(bytes)).toBe(true);
      }),
    );
  });

  test('the encoder agrees with the grader\'s codec byte for byte', () => {
    fc.assert(
      fc.property(binaryValues, (v) => {
        expect(encodeValue(v).toString('hex')).toBe(grader.encodeValue(v as grader.Value).toString('hex'));
      }),
      { numRuns: 1000 },
    );
  });

  test('random bytes throw nothing but DecodeError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => onlyDecodeErrors(decodeValue, Buffer.from(bytes))), { numRuns: 5000 });
  });

  test('damaged encodings (a byte changed, bytes cut off) throw nothing but DecodeError', () => {
    fc.assert(
      fc.property(binaryValues, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (v, at, byte, cut) => {
        const bytes = encodeValue(v);
        const changed = Buffer.from(bytes);
        changed[at % changed.length] = byte;
        onlyDecodeErrors(decodeValue, changed);
        onlyDecodeErrors(decodeValue, bytes.subarray(0, cut % bytes.length));
      }),
      { numRuns: 3000 },
    );
  });

  test('hostile counts and nesting are refused without exhausting memory or the stack', () => {
    expect(() => decodeValue(Buffer.from('02ffffffff00', 'hex'))).toThrow(DecodeError);
    expect(() => decodeValue(Buffer.from('03ffffffff', 'hex'))).toThrow(DecodeError);
    const deep = Buffer.concat(Array.from({ length: 100_000 }, () => Buffer.from('0200000001', 'hex')));
    expect(() => decodeValue(deep)).toThrow(DecodeError);
  });
});

describe('JSON values', () => {
  test('decodeJson(encodeJson(v)) equals v', () => {
    fc.assert(
      fc.property(jsonValues, (v) => {
        expect(decodeJson(encodeJson(v))).toEqual(v);
      }),
      { numRuns: 2000 },
    );
  });

  test('the encoder agrees with the grader\'s codec byte for byte', () => {
    fc.assert(
      fc.property(jsonValues, (v) => {
        expect(encodeJson(v).toString('hex')).toBe(grader.encodeJson(v as grader.Value).toString('hex'));
      }),
      { numRuns: 1000 },
    );
  });

  test('random bytes and random JSON throw nothing but DecodeError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => onlyDecodeErrors(decodeJson, Buffer.from(bytes))), { numRuns: 3000 });
    fc.assert(fc.property(fc.json(), (text) => onlyDecodeErrors(decodeJson, Buffer.from(text, 'utf8'))), { numRuns: 3000 });
  });

  test('ints outside the JSON range are refused by the encoder and the decoder', () => {
    expect(() => encodeJson(jsonIntMax + 1n)).toThrow(RangeError);
    expect(() => decodeJson(Buffer.from('9007199254740992'))).toThrow(DecodeError);
    expect(decodeJson(Buffer.from('-9007199254740991'))).toBe(-jsonIntMax);
  });
});

describe('frames', () => {
  const frames = fc.array(
    fc.record({ type: fc.bigInt({ min: int64Min, max: int64Max }), payload: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)) }),
    { maxLength: 8 },
  );

  test('the same frames come out however the stream is cut', () => {
    fc.assert(
      fc.property(frames, fc.array(fc.nat(), { maxLength: 10 }), (sent, cuts) => {
        const stream = Buffer.concat(sent.map((f) => encodeFrame(f.type, f.payload)));
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const reader = new FrameReader();
        const got: Frame[] = [];
        let from = 0;
        for (const to of [...points, stream.length]) {
          reader.push(stream.subarray(from, to));
          from = to;
          for (let f = reader.next(); f; f = reader.next()) got.push({ type: f.type, payload: Buffer.from(f.payload) });
        }
        expect(got).toEqual(sent);
      }),
      { numRuns: 2000 },
    );
  });

  test('a header over the maximum throws FrameTooLarge at once; the maximum itself is fine', () => {
    const reader = new FrameReader();
    reader.push(grader.header(1, maxPayload + 1));
    expect(() => reader.next()).toThrow(FrameTooLarge);
    const ok = new FrameReader();
    ok.push(grader.header(1, maxPayload));
    expect(ok.next()).toBeUndefined();
  });
});
