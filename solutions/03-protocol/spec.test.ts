// The kit's check that spec/03-protocol.md's examples are right: every hex dump of a frame in it
// decodes with the reference codec, its ASCII column matches its bytes, its stated size is its
// size, and encoding the decoded value again gives the same bytes (the dumps are canonical).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { decodeValue } from './decode.js';
import { encodeValue } from './encode.js';
import { FrameReader, encodeFrame } from './frames.js';
import { decodeJson, encodeJson } from './json.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const spec = readFileSync(path.join(here, '..', '..', 'spec', '03-protocol.md'), 'utf8');

interface Dump {
  label: string;
  bytes: Buffer;
  line: number;
}

/** Each run of hex-dump rows in the spec, with the label line just above it. */
function dumps(): Dump[] {
  const lines = spec.split('\n');
  const found: Dump[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^00000000  /.test(lines[i]!)) continue;
    const rows: Buffer[] = [];
    let j = i;
    for (; j < lines.length && /^[0-9a-f]{8}  /.test(lines[j]!); j++) {
      const match = /^([0-9a-f]{8})  ((?:[0-9a-f]{2} ?)+?)\s+\|(.*)\|$/.exec(lines[j]!);
      if (!match) throw new Error(`spec line ${j + 1} is not a hex dump row: ${lines[j]}`);
      const bytes = Buffer.from(match[2]!.replace(/ /g, ''), 'hex');
      const ascii = [...bytes].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
      expect(match[3], `the ASCII column of spec line ${j + 1}`).toBe(ascii);
      expect(parseInt(match[1]!, 16), `the offset of spec line ${j + 1}`).toBe(rows.reduce((n, r) => n + r.length, 0));
      rows.push(bytes);
    }
    found.push({ label: lines[i - 1] ?? '', bytes: Buffer.concat(rows), line: i + 1 });
    i = j;
  }
  return found;
}

describe('the hex dumps in spec/03-protocol.md', () => {
  const all = dumps();

  test('there is at least one for every message type', () => {
    const types = new Set(all.map((d) => d.bytes.readBigInt64BE(0)));
    for (const type of [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 100n, 101n, 102n, 103n, 104n, 105n, 106n, 107n, 108n, 109n, 150n]) expect(types, `a dump of type ${type}`).toContain(type);
  });

  test.each(all.map((d) => [`line ${d.line}: ${d.label}`, d] as const))('%s', (_, dump) => {
    const reader = new FrameReader();
    reader.push(dump.bytes);
    const frame = reader.next();
    expect(frame, 'a whole frame').toBeDefined();
    expect(reader.next(), 'nothing after the frame').toBeUndefined();
    const sizeStated = /(\d+) bytes/.exec(dump.label);
    if (sizeStated) expect(dump.bytes.length).toBe(Number(sizeStated[1]));
    const json = dump.bytes[12] === 0x7b;
    const value = json ? decodeJson(frame!.payload) : decodeValue(frame!.payload);
    const again = encodeFrame(frame!.type, json ? encodeJson(value) : encodeValue(value));
    expect(again.toString('hex')).toBe(dump.bytes.toString('hex'));
  });
});
