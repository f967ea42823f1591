// A program's data folder is the program's: the grader must never read or write through a link
// it put there (to a hidden test, to a file of the kit), nor hang on a FIFO. grader/harness/datafiles.ts.
import { execFileSync } from 'node:child_process';
import { linkSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { appendDataFile, flipDataByte, readDataFile, readDataFileIfAny, truncateDataFile, writeDataFile } from '../harness/datafiles.js';
import { appendBytes, fileDigests, flipByte, truncateFile } from '../harness/files.js';
import { readImage, writeImage } from '../explore/crash-states.js';
import { GradeFailure } from '../harness/wait.js';

let dir: string;
let outside: string;
let kitFile: string;
const secret = 'the first lines of a hidden test\n';

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-datafiles-'));
  outside = mkdtempSync(path.join(os.tmpdir(), 'switchboard-kit-'));
  kitFile = path.join(outside, 'hidden.test.ts');
  writeFileSync(kitFile, secret);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const posix = process.platform !== 'win32';

test('regular files are read, written, appended, cut and flipped', () => {
  const log = path.join(dir, 'log');
  expect(readDataFileIfAny(log)).toBeUndefined();
  writeDataFile(log, 'abcdef');
  appendDataFile(log, 'gh');
  truncateDataFile(log, 7);
  flipDataByte(log, 0, 0x20);
  expect(readDataFile(log).toString()).toBe('Abcdefg');
  writeDataFile(log, 'xy');
  expect(readFileSync(log, 'utf8')).toBe('xy');
});

test.skipIf(!posix)('a symbolic link in its place is refused, and what it points to is neither read nor changed', () => {
  const log = path.join(dir, 'log');
  symlinkSync(kitFile, log);
  const tries: [string, () => unknown][] = [
    ['read', () => readDataFile(log)],
    ['write', () => writeDataFile(log, 'overwritten')],
    ['append', () => appendBytes(log, 'appended')],
    ['truncate', () => truncateFile(log, 1)],
    ['flip', () => flipByte(log, 0)],
    ['read as an image', () => readImage(dir)],
  ];
  for (const [what, attempt] of tries) {
    expect(attempt, what).toThrow(GradeFailure);
    expect(attempt, what).toThrow(/"log" in the program's data folder .* is a symbolic link/);
  }
  expect(readFileSync(kitFile, 'utf8')).toBe(secret);
  // A digest of the folder counts a link as no file: "log was removed", never its target's bytes.
  expect([...fileDigests(dir).keys()]).toEqual([]);
});

test.skipIf(!posix)('a hard link to another file is refused', () => {
  const mine = path.join(outside, 'copy');
  writeFileSync(mine, secret);
  linkSync(mine, path.join(dir, 'snapshot'));
  expect(() => readDataFile(path.join(dir, 'snapshot'))).toThrow(/is a file with 2 names/);
  expect(() => writeDataFile(path.join(dir, 'snapshot'), 'x')).toThrow(/is a file with 2 names/);
  expect(readFileSync(mine, 'utf8')).toBe(secret);
});

test.skipIf(process.platform !== 'linux')('a FIFO is refused at once, for reading and for writing', () => {
  const fifo = path.join(dir, 'term');
  execFileSync('mkfifo', [fifo]);
  expect(() => readDataFile(fifo)).toThrow(/is a FIFO/);
  expect(() => writeDataFile(fifo, '1 2\n')).toThrow(/is a FIFO/);
});

test('writeImage replaces what is there, links included, and never writes through one', () => {
  if (posix) symlinkSync(kitFile, path.join(dir, 'log'));
  writeImage(dir, new Map([['log', Buffer.from('fresh')]]));
  expect(readFileSync(path.join(dir, 'log'), 'utf8')).toBe('fresh');
  expect(readFileSync(kitFile, 'utf8')).toBe(secret);
});
