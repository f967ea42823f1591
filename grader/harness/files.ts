// Damage on purpose, and proof that nothing else changed: what the persistence labs do to a
// server's data directory between a stop and a restart, and how they check that a server that
// refused to start left every byte alone. The folder is the program's, so every file in it is
// opened through datafiles.ts, which never follows a link the program may have put there.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { appendDataFile, flipDataByte, readDataFile, truncateDataFile } from './datafiles.js';

/** Cuts `file` to `length` bytes, as a crash in the middle of a write would leave it. */
export function truncateFile(file: string, length: number): void {
  truncateDataFile(file, length);
}

/** XORs the byte at `offset` with `mask` (every bit, by default): a flipped bit on the disk. */
export function flipByte(file: string, offset: number, mask = 0xff): void {
  flipDataByte(file, offset, mask);
}

/** Appends bytes to `file`: garbage after the last record. */
export function appendBytes(file: string, bytes: Buffer | string): void {
  appendDataFile(file, bytes);
}

function walk(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return walk(full, base);
    return entry.isFile() ? [path.relative(base, full).split(path.sep).join('/')] : [];
  });
}

/** Every file under `dir`, by its path relative to `dir`, with the SHA-256 of its bytes. */
export function fileDigests(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of walk(dir).sort()) out.set(file, createHash('sha256').update(readDataFile(path.join(dir, file))).digest('hex'));
  return out;
}

/** What changed between two fileDigests() of one folder, as sentences; empty when nothing did. */
export function digestChanges(before: Map<string, string>, after: Map<string, string>): string[] {
  const changes: string[] = [];
  for (const [file, digest] of before) {
    if (!after.has(file)) changes.push(`${file} was removed`);
    else if (after.get(file) !== digest) changes.push(`${file} was changed`);
  }
  for (const file of after.keys()) if (!before.has(file)) changes.push(`${file} was created`);
  return changes;
}

/** The total size in bytes of every file under `dir`. */
export function dirBytes(dir: string): number {
  return walk(dir).reduce((sum, file) => sum + lstatSync(path.join(dir, file)).size, 0);
}
