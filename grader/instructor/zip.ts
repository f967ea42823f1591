// Writing and reading zip archives (fflate: no dependencies, both directions). An archive made
// from the same files is the same, byte for byte: every entry gets one fixed date. Unix modes are
// kept, so scripts stay executable where they are unpacked.
import { unzipSync, zipSync, type Zippable } from 'fflate';

export interface ZipEntry {
  /** The path inside the archive, with forward slashes. */
  path: string;
  data: Uint8Array;
  /** Unix permissions; 0o644 when omitted. */
  mode?: number;
}

const fixedDate = new Date('2000-01-01T00:00:00');

export function makeZip(entries: ZipEntry[]): Uint8Array {
  const tree: Zippable = {};
  for (const entry of [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    // The high 16 bits of a Unix entry's attributes are its st_mode: a regular file, and its permissions.
    const mode = 0o100000 | (entry.mode ?? 0o644);
    tree[entry.path] = [entry.data, { os: 3, attrs: mode * 0x10000, mtime: fixedDate, level: 6 }];
  }
  return zipSync(tree);
}

/** The files of an archive, by path (folders' own entries left out). */
export function readZip(data: Uint8Array): Record<string, Uint8Array> {
  const files = unzipSync(data);
  return Object.fromEntries(Object.entries(files).filter(([name]) => !name.endsWith('/')));
}
