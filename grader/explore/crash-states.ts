// Crash states: the directories a power cut could leave, built from a record of what a program
// did to its data directory (in the style of ALICE and CrashMonkey). A phase test runs a workload,
// records the directory's bytes or the program's system calls, asks this file for the states a
// crash at each point could leave, and restarts the program on each.
//
// Two records, one model:
//   - images: the directory's files read at chosen moments (portable: any OS, no tracing). The
//     states between two images are the first one with any prefix of what was appended since,
//     torn at any byte, or with a block of garbage after it.
//   - operations: the writes, truncations, syncs, creations, renames and removals a system-call
//     trace shows (Linux, strace). A file's bytes survive up to its last sync, plus any prefix of
//     the writes after it, the last one torn at any byte; a name (created, renamed, removed)
//     survives as of the last sync of its directory, plus any prefix of the changes after it.
//
// How many states a phase runs is its budget; SWITCHBOARD_EXPLORE (`--explore N` on the CLI)
// asks for N instead. Every choice comes from the test's seeded generator, so a failing state is
// named by its seed, and SWITCHBOARD_SEED replays it.
import { readdirSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { Random } from '../harness/random.js';
import { readDataFile, writeDataFile } from '../harness/datafiles.js';

/** A data directory's files: name to bytes. */
export type Image = Map<string, Buffer>;

/** One directory a crash could leave, and how it came about, for the failure message. */
export interface CrashState {
  /** "after request 12, the log cut 31 bytes into the record written next". */
  name: string;
  files: Image;
  /** Where in the record the crash falls: the index of the image or operation it follows. */
  at: number;
  /**
   * How much a phase wants this state: those of the highest priority are tried first (spread over
   * the record when there are more than the budget), then the next, and so on; 0 (the default)
   * are drawn at random to fill what remains.
   */
  priority?: number;
}

/** The number of crash states a phase explores: its default, or SWITCHBOARD_EXPLORE when set. */
export function exploreCount(defaultCount: number): number {
  const given = process.env.SWITCHBOARD_EXPLORE;
  if (given === undefined || given.trim() === '') return defaultCount;
  const n = Number(given);
  if (!Number.isInteger(n) || n < 1) throw new Error(`SWITCHBOARD_EXPLORE (--explore) wants a whole number of at least 1, got "${given}"`);
  return n;
}

/** Picks `count` of `states`, the highest priorities first (see CrashState.priority); returned in the order of the record. */
export function pick<S extends CrashState>(states: S[], count: number, random: Random): S[] {
  const tiers = [...new Set(states.map((s) => s.priority ?? 0))].sort((a, b) => b - a);
  const chosen: S[] = [];
  for (const tier of tiers) {
    const left = count - chosen.length;
    if (left <= 0) break;
    const these = states.filter((s) => (s.priority ?? 0) === tier);
    chosen.push(...(these.length <= left ? these : tier === 0 ? random.shuffle(these).slice(0, left) : spread(these, left, random)));
  }
  return chosen.sort((a, b) => a.at - b.at);
}

/** `n` of `items`, one from each of n equal stretches of the list. */
function spread<T>(items: T[], n: number, random: Random): T[] {
  const step = items.length / n;
  return Array.from({ length: n }, (_, i) => items[Math.min(items.length - 1, Math.floor(i * step + random.next() * step))]!);
}

/** Reads a directory's files (not its subfolders), in the order `first` names, then the others. */
export function readImage(dir: string, first: string[] = []): Image {
  const image: Image = new Map();
  const names = readdirSync(dir);
  for (const name of [...first.filter((f) => names.includes(f)), ...names.filter((f) => !first.includes(f)).sort()]) {
    try {
      image.set(name, readDataFile(path.join(dir, name)));
    } catch (error) {
      // Renamed or removed between the listing and the read: it is not there.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && (error as NodeJS.ErrnoException).code !== 'EISDIR') throw error;
    }
  }
  return image;
}

/** Replaces everything in `dir` with `image`. */
export function writeImage(dir: string, image: Image): void {
  if (existsSync(dir)) for (const name of readdirSync(dir)) rmSync(path.join(dir, name), { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of image) writeDataFile(path.join(dir, name), bytes);
}

/** What differs between two images, as sentences ("log was changed"); empty when nothing does. */
export function imageChanges(before: Image, after: Image): string[] {
  const out: string[] = [];
  for (const [name, bytes] of before) {
    const now = after.get(name);
    if (!now) out.push(`${name} was removed`);
    else if (!now.equals(bytes)) out.push(`${name} was changed (${bytes.length} bytes before, ${now.length} after${firstDifference(bytes, now)})`);
  }
  for (const name of after.keys()) if (!before.has(name)) out.push(`${name} was created (${after.get(name)!.length} bytes)`);
  return out;
}

function firstDifference(a: Buffer, b: Buffer): string {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return `, first different at byte ${i}`;
  return '';
}

/**
 * Where a file that grew from `from` to `to` bytes could be cut by a crash: both ends, one byte
 * either side of each `boundaries` offset (where records start), and `random` more anywhere.
 */
export function cuts(from: number, to: number, boundaries: number[], random: Random, extra = 2): number[] {
  const out = new Set<number>([from, to]);
  for (const b of boundaries) for (const c of [b - 1, b, b + 1]) if (c > from && c < to) out.add(c);
  for (let i = 0; i < extra && to - from > 1; i++) out.add(random.int(from + 1, to));
  return [...out].sort((a, b) => a - b);
}

/** A torn tail: what a crash can leave after the last byte that reached the disk. */
export function tornTail(random: Random): Buffer {
  switch (random.int(0, 3)) {
    case 0:
      return Buffer.alloc(0);
    case 1:
      // A block the file system had allocated but never written.
      return Buffer.alloc(random.int(1, 512));
    default:
      return Buffer.from(Array.from({ length: random.int(1, 64) }, () => random.int(0, 256)));
  }
}

// ---------------------------------------------------------------- a file system that can crash

/** One operation on a data directory, as a system-call trace shows it (paths relative to the directory). */
export type Operation =
  | { kind: 'create'; file: string; truncate: boolean }
  | { kind: 'write'; file: string; offset: number | 'end'; bytes: Buffer }
  | { kind: 'truncate'; file: string; length: number }
  /** `count`: the file's unsynced changes the sync covers (those made before it began); all when omitted. */
  | { kind: 'sync'; file: string; count?: number }
  | { kind: 'rename'; from: string; to: string }
  | { kind: 'unlink'; file: string }
  | { kind: 'syncdir' };

interface Inode {
  /** The bytes on the disk for sure: as of the inode's last sync. */
  durable: Buffer;
  /** Changes since then, oldest first: each is a function from the bytes before to the bytes after. */
  pending: { apply: (b: Buffer) => Buffer; tear?: (b: Buffer, keep: number) => Buffer; size: number }[];
  /** The bytes a program reading the file sees now. */
  current: Buffer;
}

/**
 * Replays operations into a model of one directory that can say, at any point, what a power cut
 * could leave: every file as of its last sync plus a prefix of its later changes (the last write
 * torn anywhere), and every name as of the directory's last sync plus a prefix of its later changes.
 */
export class CrashableDir {
  private readonly inodes: Inode[] = [];
  /** Name to inode, as a reader sees the directory now. */
  private readonly names = new Map<string, number>();
  /** Name to inode as of the last directory sync. */
  private durableNames = new Map<string, number>();
  /** Changes of names since the last directory sync, oldest first. */
  private pendingNames: { name: string; inode: number | undefined }[] = [];

  constructor(initial: Image = new Map()) {
    for (const [name, bytes] of initial) {
      this.inodes.push({ durable: bytes, pending: [], current: bytes });
      this.names.set(name, this.inodes.length - 1);
    }
    this.durableNames = new Map(this.names);
  }

  apply(op: Operation): void {
    switch (op.kind) {
      case 'create': {
        const existing = this.names.get(op.file);
        if (existing !== undefined) {
          if (op.truncate) this.change(existing, () => Buffer.alloc(0), 0);
          return;
        }
        this.inodes.push({ durable: Buffer.alloc(0), pending: [], current: Buffer.alloc(0) });
        this.bind(op.file, this.inodes.length - 1);
        return;
      }
      case 'write': {
        const inode = this.names.get(op.file);
        if (inode === undefined) return;
        const at = op.offset;
        const write = (b: Buffer, bytes: Buffer) => {
          const offset = at === 'end' ? b.length : at;
          const out = Buffer.alloc(Math.max(b.length, offset + bytes.length));
          b.copy(out);
          bytes.copy(out, offset);
          return out;
        };
        this.change(inode, (b) => write(b, op.bytes), op.bytes.length, (b, keep) => write(b, op.bytes.subarray(0, keep)));
        return;
      }
      case 'truncate': {
        const inode = this.names.get(op.file);
        if (inode !== undefined) this.change(inode, (b) => (b.length >= op.length ? b.subarray(0, op.length) : Buffer.concat([b, Buffer.alloc(op.length - b.length)])), 0);
        return;
      }
      case 'sync': {
        const inode = this.names.get(op.file);
        if (inode === undefined) return;
        const node = this.inodes[inode]!;
        const count = Math.min(op.count ?? node.pending.length, node.pending.length);
        for (const change of node.pending.slice(0, count)) node.durable = change.apply(node.durable);
        node.pending = node.pending.slice(count);
        return;
      }
      case 'rename': {
        const inode = this.names.get(op.from);
        if (inode === undefined) return;
        this.bind(op.from, undefined);
        this.bind(op.to, inode);
        return;
      }
      case 'unlink':
        if (this.names.has(op.file)) this.bind(op.file, undefined);
        return;
      case 'syncdir':
        this.durableNames = new Map(this.names);
        this.pendingNames = [];
        return;
    }
  }

  /** How many unsynced changes `file` has now (for a sync that begins now and ends later). */
  unsynced(file: string): number {
    const inode = this.names.get(file);
    return inode === undefined ? 0 : this.inodes[inode]!.pending.length;
  }

  /** The directory as a reader sees it now. */
  now(): Image {
    const image: Image = new Map();
    for (const [name, inode] of this.names) image.set(name, this.inodes[inode]!.current);
    return image;
  }

  /** How many changes a crash now could keep or lose: of names, and of each file's bytes. */
  choices(): { names: number; files: Map<number, number> } {
    const files = new Map<number, number>();
    for (const [i, node] of this.inodes.entries()) if (node.pending.length > 0) files.set(i, node.pending.length);
    return { names: this.pendingNames.length, files };
  }

  /**
   * What a crash now leaves when it keeps the first `keepNames` changes of names and, of each
   * file's unsynced changes, the first `keep(inode, count)` (a fraction means the next one torn
   * that far into its bytes). With no arguments: everything synced, nothing else.
   */
  crash(keepNames = 0, keep: (inode: number, count: number) => number = () => 0): Image {
    const names = new Map(this.durableNames);
    for (const change of this.pendingNames.slice(0, keepNames)) {
      if (change.inode === undefined) names.delete(change.name);
      else names.set(change.name, change.inode);
    }
    const image: Image = new Map();
    for (const [name, inode] of [...names].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const node = this.inodes[inode]!;
      const kept = Math.min(node.pending.length, Math.max(0, keep(inode, node.pending.length)));
      let bytes = node.durable;
      const whole = Math.floor(kept);
      for (const change of node.pending.slice(0, whole)) bytes = change.apply(bytes);
      const torn = node.pending[whole];
      if (kept > whole && torn?.tear) bytes = torn.tear(bytes, Math.floor((kept - whole) * torn.size));
      image.set(name, bytes);
    }
    return image;
  }

  /** A random crash now: a random prefix of each kind of change, the last write torn at a random byte. */
  randomCrash(random: Random): Image {
    const { names } = this.choices();
    return this.crash(random.int(0, names + 1), (_inode, count) => (random.chance(0.3) ? count : random.int(0, count + 1) - (random.chance(0.5) ? random.next() : 0)));
  }

  private change(inode: number, apply: (b: Buffer) => Buffer, size: number, tear?: (b: Buffer, keep: number) => Buffer): void {
    const node = this.inodes[inode]!;
    node.current = apply(node.current);
    node.pending.push({ apply, tear, size });
  }

  private bind(name: string, inode: number | undefined): void {
    if (inode === undefined) this.names.delete(name);
    else this.names.set(name, inode);
    this.pendingNames.push({ name, inode });
  }
}

/**
 * Runs `check` on every state, `width` at a time (each starts its own process, which mostly
 * waits), in order of the list; the first failure stops new checks and is thrown once the
 * running ones end.
 */
export async function checkAll<S>(states: S[], width: number, check: (state: S, n: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < states.length) {
      const n = next++;
      try {
        await check(states[n]!, n + 1);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, width) }, worker));
  if (failure) throw failure.error;
}
