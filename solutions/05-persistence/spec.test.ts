// The kit's check that spec/05-persistence.md's figures are right: the CRC-32 test vector, the
// worked example of a record byte for byte, and the grader's own record writer
// (labs/05-persistence/tests/logfile.ts) agreeing with the reference's.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { expect, test } from 'vitest';
import * as grader from '../../labs/05-persistence/tests/logfile.js';
import { RecordType, encodeRecord, intactAfter, intactAt } from './records.js';
import { valueMap } from './values.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const spec = readFileSync(path.join(here, '..', '..', 'spec', '05-persistence.md'), 'utf8');

const example = valueMap({ from: 'alice', index: 7n, text: 'hi', to: 'bob' });

test('the CRC-32 test vector', () => {
  expect(spec).toContain('`123456789` is `0xCBF43926`');
  expect(zlib.crc32('123456789')).toBe(0xcbf43926);
});

test('the worked example of section 4 is the reference\'s record, byte for byte', () => {
  const dump = spec.slice(spec.indexOf('Example: the record `MESSAGE_SENT'));
  const rows = [...dump.matchAll(/^[0-9a-f]{8} {2}((?:[0-9a-f]{2} )+)/gm)].slice(0, 6).map((m) => m[1]!.trim().split(' ').map((h) => Number.parseInt(h, 16)));
  const bytes = Buffer.from(rows.flat());
  const record = encodeRecord(RecordType.MESSAGE_SENT, example);
  expect(bytes.toString('hex')).toBe(record.toString('hex'));
  expect(dump).toContain(`${record.length} bytes`);
  expect(dump).toContain(`crc \`0x${record.readUInt32BE(0).toString(16).toUpperCase()}\``);
});

test('the grader writes the same records as the reference and reads them alike', () => {
  const ours = encodeRecord(RecordType.MESSAGE_SENT, example);
  expect(grader.encodeRecord(grader.R.MESSAGE_SENT, example).equals(ours)).toBe(true);
  const log = Buffer.concat([ours, encodeRecord(RecordType.MESSAGES_DELIVERED, valueMap({ ids: [7n], index: 8n })), Buffer.from('torn')]);
  const reading = grader.readLogBytes(log);
  expect(intactAt(log, 0)?.end).toBe(ours.length);
  expect(intactAt(log, ours.length)?.end).toBe(reading.end);
  expect(intactAt(log, reading.end)).toBeUndefined();
  expect(intactAfter(log, reading.end)).toBe(reading.intactAfter);
  expect(reading.records.map((r) => r.index)).toEqual([7n, 8n]);
  expect(intactAt(log, 1)).toBeUndefined();
});
