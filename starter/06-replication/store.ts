// The data directory (spec/05-persistence.md, sections 3, 6 and 8), as lab 5 keeps it, with what
// replication needs on top (spec/06-replication.md, section 5): every record's bytes and its
// digest, kept in memory, and truncation of records that were never committed.
//
// Appending a record only puts its bytes in `pending`. sync() writes them to the log and syncs the
// file: that is the commit point of this replica's own copy, after which it may count itself (a
// primary) or report the records stored (a backup). The replica calls it once per turn of its
// event loop, for everything appended in that turn (group commit).
//
// The digest of index i is a hash of every record up to i (section 5.2): two replicas whose
// digests at i agree hold the same records 1 to i. A lab 6 replica never compacts its log, so the
// whole log is here from index 1.
import { closeSync, existsSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { decodePayload, encodeRecord, recordOf, scanLog, type Intact } from './records.js';
import { NotImplemented } from './todo.js';
import { DecodeError, type ValueMap } from './values.js';

/** The server must not start: `file` is damaged or wrong at `offset`. */
export class Refusal extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    why: string,
  ) {
    super(`${file} is damaged at offset ${offset}: ${why}; refusing to start`);
    this.name = 'Refusal';
  }
}

/** Another live server holds the directory's lock. */
export class Locked extends Error {}

/** Applies one record to the state; throws DecodeError (or a ProtocolError) if its payload is wrong. */
export type Apply = (type: number, payload: ValueMap) => void;

/** digest(i) from digest(i − 1) and the bytes of record i (spec/06-replication.md, section 5.2). */
export function nextDigest(previous: bigint, record: Buffer): bigint {
  const before = Buffer.alloc(8);
  before.writeBigInt64BE(previous);
  return createHash('sha256').update(before).update(record).digest().readBigInt64BE(0);
}

export class Store {
  private readonly logFile: string;
  private readonly lockFile: string;
  private fd = -1;
  private pending: Buffer[] = [];
  private locked = false;
  /** The bytes of record i at records[i − 1]. */
  private readonly records: Buffer[] = [];
  /** digests[i] is digest(i); digests[0] = 0. */
  private readonly digests: bigint[] = [0n];
  /** The index of the last record synced to the log. */
  syncedIndex = 0n;

  constructor(readonly dir: string) {
    this.logFile = path.join(dir, 'log');
    this.lockFile = path.join(dir, 'LOCK');
  }

  /** The index of the last record appended, synced or not. */
  get lastIndex(): bigint {
    return BigInt(this.records.length);
  }

  /** The digest of the log up to `index`, or undefined if the log is shorter. */
  digest(index: bigint): bigint | undefined {
    return index >= 0n && index <= this.lastIndex ? this.digests[Number(index)] : undefined;
  }

  /** Record `index` as its type and payload, for an APPEND. */
  entry(index: bigint): { type: number; record: ValueMap } {
    return recordOf(this.records[Number(index) - 1]!);
  }

  /** Takes the lock (lab 5, section 3). Throws Locked if a live server holds it. */
  lock(): void {
    mkdirSync(this.dir, { recursive: true });
    try {
      writeExclusive(this.lockFile, `${process.pid}\n`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(this.lockFile, 'utf8'), 10);
      if (Number.isInteger(holder) && holder !== process.pid && alive(holder)) {
        throw new Locked(`${this.dir} is in use by the server with process id ${holder} (its LOCK file)`);
      }
      // A crashed server's lock: ours now.
      rmSync(this.lockFile, { force: true });
      writeExclusive(this.lockFile, `${process.pid}\n`);
    }
    this.locked = true;
  }

  /**
   * Replays the log into `apply` (lab 5, section 8). Throws Refusal, having changed no file, if it
   * is damaged. Returns a description of the torn tail it dropped, if any.
   */
  recover(apply: Apply): string | undefined {
    const bytes = existsSync(this.logFile) ? readFileSync(this.logFile) : Buffer.alloc(0);
    const scan = scanLog(bytes);
    if (scan.intactAfter !== undefined) {
      throw new Refusal('log', scan.end, `intact records follow it (the first at offset ${scan.intactAfter})`);
    }
    for (const record of scan.records) {
      const payload = payloadOf(record);
      const index = payload.get('index') as bigint;
      if (index !== this.lastIndex + 1n) throw new Refusal('log', record.offset, `its index is ${index}, not ${this.lastIndex + 1n}`);
      try {
        apply(record.type, payload);
      } catch (error) {
        throw new Refusal('log', record.offset, `an intact record of type ${record.type} is wrong: ${(error as Error).message}`);
      }
      this.remember(Buffer.from(bytes.subarray(record.offset, record.end)));
    }
    this.syncedIndex = this.lastIndex;

    // Decided: the replica starts. Only now does anything change on disk.
    let dropped: string | undefined;
    this.fd = openSync(this.logFile, 'a');
    if (scan.end < bytes.length) {
      ftruncateSync(this.fd, scan.end);
      fsyncSync(this.fd);
      dropped = `log: dropped ${bytes.length - scan.end} bytes at offset ${scan.end} (torn tail)`;
    }
    syncDir(this.dir);
    return dropped;
  }

  /** Appends a record, giving it the next index. Nothing is on disk until sync(). */
  append(type: number, fields: ValueMap): bigint {
    const index = this.lastIndex + 1n;
    const record = encodeRecord(type, new Map([...fields, ['index', index]]));
    this.remember(record);
    this.pending.push(record);
    return index;
  }

  private remember(record: Buffer): void {
    this.digests.push(nextDigest(this.digests[this.records.length]!, record));
    this.records.push(record);
  }

  /** True if records were appended since the last sync. */
  get dirty(): boolean {
    return this.pending.length > 0;
  }

  /** Writes the pending records and syncs the log. */
  sync(): void {
    if (this.pending.length === 0) return;
    const bytes = Buffer.concat(this.pending);
    this.pending = [];
    for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at);
    // The real commit of this copy: once this returns, the records survive a crash of the machine.
    fdatasyncSync(this.fd);
    this.syncedIndex = this.lastIndex;
  }

  /**
   * Keeps only records 1 to `keep`: the rest were never committed (spec/06-replication.md,
   * section 5.3). The file is cut and synced before anything is appended after it: sync what is
   * pending, cut the file to the bytes of records 1 to `keep` (ftruncateSync), sync it, and forget
   * the records and digests after `keep` (syncedIndex too).
   */
  truncate(keep: bigint): void {
    throw new NotImplemented('6.5', 'Store.truncate in store.ts');
  }

  /** Applies every record of the log again, in order: a state rebuilt after a truncation. */
  replay(apply: Apply): void {
    for (const bytes of this.records) {
      const { type, record } = recordOf(bytes);
      apply(type, record);
    }
  }

  /** Clean shutdown: everything appended is synced, and the lock is released. */
  close(): void {
    if (this.fd >= 0) {
      this.sync();
      closeSync(this.fd);
      this.fd = -1;
    }
    this.unlock();
  }

  unlock(): void {
    if (this.locked) rmSync(this.lockFile, { force: true });
    this.locked = false;
  }
}

/** An intact record's payload, which must be a map with an int "index"; a Refusal if it is not. */
function payloadOf(record: Intact): ValueMap {
  try {
    const payload = decodePayload(record);
    if (typeof payload.get('index') !== 'bigint') throw new DecodeError('it has no int "index"');
    return payload;
  } catch (error) {
    if (error instanceof DecodeError) throw new Refusal('log', record.offset, `an intact record is wrong: ${error.message}`);
    throw error;
  }
}

function writeExclusive(file: string, text: string): void {
  const fd = openSync(file, 'wx');
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** Makes renames and new names in `dir` durable. Windows cannot open a directory: it journals them. */
function syncDir(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
