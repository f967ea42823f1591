// The data directory (spec/07-consensus.md, section 12): lab 5's lock, log and snapshot, lab 6's
// digests and truncation, and what lab 7 adds: every record's term, the `term` file (the current
// term and the vote cast in it), compaction of the committed prefix, and a snapshot installed from
// the primary.
//
// In memory the store keeps the snapshot's index (`base`, 0 without one), its term and digest, and
// the bytes, term and digest of every record after it. Appending only puts a record's bytes in
// `pending`; sync() writes them and syncs the log: the commit point of this replica's own copy.
//
// Every change of the files is ordered so that a crash anywhere leaves a directory that recovers
// to a state the replica had: a new file is written to NAME.tmp, synced, renamed, and the
// directory synced (lab 5, section 9).
import { closeSync, existsSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { RecordType, decodePayload, encodeRecord, intactAt, recordOf, scanLog, type Intact } from './records.js';
import { DecodeError, type ValueMap } from './values.js';

/** The replica must not start: `file` is damaged or wrong at `offset`. */
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

/** Another live replica holds the directory's lock. */
export class Locked extends Error {}

/** Applies one record (or a SNAPSHOT) to the state; throws if its payload is wrong. */
export type Apply = (type: number, payload: ValueMap) => void;

/** digest(i) from digest(i − 1) and the bytes of record i (spec/06-replication.md, section 5.2). */
export function nextDigest(previous: bigint, record: Buffer): bigint {
  const before = Buffer.alloc(8);
  before.writeBigInt64BE(previous);
  return createHash('sha256').update(before).update(record).digest().readBigInt64BE(0);
}

/** The term a record payload carries; 0 for one written before terms (a lab 6 log). */
function termOf(payload: ValueMap): bigint {
  const term = payload.get('term');
  return typeof term === 'bigint' ? term : 0n;
}

export class Store {
  private readonly logFile: string;
  private readonly lockFile: string;
  private fd = -1;
  private pending: Buffer[] = [];
  private locked = false;
  /** The snapshot's index, term and digest; all 0 without a snapshot. */
  base = 0n;
  baseTerm = 0n;
  private baseDigest = 0n;
  /** The SNAPSHOT record's payload, for a backup far behind; undefined without a snapshot. */
  snapshot: ValueMap | undefined;
  /** Record base + 1 + k: its bytes at records[k], its term at terms[k], its digest at digests[k + 1]. */
  private records: Buffer[] = [];
  private terms: bigint[] = [];
  private digests: bigint[] = [0n];
  /** The index of the last record synced to the log. */
  syncedIndex = 0n;
  /** The term the replica writes into the records it makes (its term as the primary). */
  term = 0n;

  constructor(readonly dir: string) {
    this.logFile = path.join(dir, 'log');
    this.lockFile = path.join(dir, 'LOCK');
  }

  /** The index of the last record appended, synced or not (the snapshot's, with no record after it). */
  get lastIndex(): bigint {
    return this.base + BigInt(this.records.length);
  }

  /** The term of the last record (the snapshot's, with no record after it; 0 for an empty log). */
  get lastTerm(): bigint {
    return this.terms.length > 0 ? this.terms[this.terms.length - 1]! : this.baseTerm;
  }

  /** The term of record `index`, if the store still knows it (the snapshot's own index included). */
  termAt(index: bigint): bigint | undefined {
    if (index === this.base) return this.baseTerm;
    if (index < this.base || index > this.lastIndex) return undefined;
    return this.terms[Number(index - this.base) - 1];
  }

  /** The digest of the log up to `index`, or undefined outside [base, last]. */
  digest(index: bigint): bigint | undefined {
    if (index < this.base || index > this.lastIndex) return undefined;
    return index === this.base ? this.baseDigest : this.digests[Number(index - this.base)];
  }

  /** Record `index` as its type and payload, for an APPEND. */
  entry(index: bigint): { type: number; record: ValueMap } {
    return recordOf(this.records[Number(index - this.base) - 1]!);
  }

  /** Takes the lock (lab 5, section 3). Throws Locked if a live replica holds it. */
  lock(): void {
    mkdirSync(this.dir, { recursive: true });
    try {
      writeExclusive(this.lockFile, `${process.pid}\n`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(this.lockFile, 'utf8'), 10);
      if (Number.isInteger(holder) && holder !== process.pid && alive(holder)) {
        throw new Locked(`${this.dir} is in use by the replica with process id ${holder} (its LOCK file)`);
      }
      // A crashed replica's lock: ours now.
      rmSync(this.lockFile, { force: true });
      writeExclusive(this.lockFile, `${process.pid}\n`);
    }
    this.locked = true;
  }

  /**
   * Replays the snapshot and the log into `apply` (lab 5, section 8). Throws Refusal, having changed
   * no file, if they are damaged. Returns a description of the torn tail it dropped, if any.
   */
  recover(apply: Apply): string | undefined {
    const snapshotFile = path.join(this.dir, 'snapshot');
    if (existsSync(snapshotFile)) {
      const bytes = readFileSync(snapshotFile);
      const record = intactAt(bytes, 0, 0xffff_ffff);
      if (!record || record.end !== bytes.length) throw new Refusal('snapshot', 0, 'it is not one intact SNAPSHOT record');
      if (record.type !== RecordType.SNAPSHOT) throw new Refusal('snapshot', 0, `its record has type ${record.type}, not ${RecordType.SNAPSHOT}`);
      const payload = payloadOf('snapshot', record);
      replay('snapshot', record, payload, apply);
      this.useSnapshot(payload);
    }
    const bytes = existsSync(this.logFile) ? readFileSync(this.logFile) : Buffer.alloc(0);
    const scan = scanLog(bytes);
    if (scan.intactAfter !== undefined) {
      throw new Refusal('log', scan.end, `intact records follow it (the first at offset ${scan.intactAfter})`);
    }
    for (const record of scan.records) {
      const payload = payloadOf('log', record);
      const index = payload.get('index') as bigint;
      // Left by a crash between the two halves of a compaction: the snapshot holds them already.
      if (index <= this.base) continue;
      if (index !== this.lastIndex + 1n) throw new Refusal('log', record.offset, `its index is ${index}, not ${this.lastIndex + 1n}`);
      replay('log', record, payload, apply);
      this.remember(Buffer.from(bytes.subarray(record.offset, record.end)), termOf(payload));
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
    for (const name of ['snapshot.tmp', 'log.tmp', 'term.tmp']) rmSync(path.join(this.dir, name), { force: true });
    syncDir(this.dir);
    return dropped;
  }

  private useSnapshot(payload: ValueMap): void {
    this.snapshot = payload;
    this.base = payload.get('index') as bigint;
    this.baseTerm = termOf(payload);
    const digest = payload.get('digest');
    this.baseDigest = typeof digest === 'bigint' ? digest : 0n;
    // The records after the snapshot chain on from its digest (recovery appends them next).
    this.digests = [this.baseDigest];
  }

  /** Appends a record the service made, with the next index and this replica's term. Nothing is on disk until sync(). */
  append(type: number, fields: ValueMap): bigint {
    const index = this.lastIndex + 1n;
    const record = encodeRecord(type, new Map([...fields, ['index', index], ['term', this.term]]));
    this.remember(record, this.term);
    this.pending.push(record);
    return index;
  }

  /** Appends the primary's record, as it sent it (its index is the next one). */
  appendEntry(type: number, record: ValueMap): void {
    const bytes = encodeRecord(type, record);
    this.remember(bytes, termOf(record));
    this.pending.push(bytes);
  }

  private remember(record: Buffer, term: bigint): void {
    this.digests.push(nextDigest(this.digests[this.records.length]!, record));
    this.records.push(record);
    this.terms.push(term);
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
   * Keeps only records up to `keep`: the rest were never committed (section 7). The file is cut
   * and synced before anything is appended after it. Never reaches into the snapshot.
   */
  truncate(keep: bigint): void {
    if (keep < this.base) throw new Error(`truncate(${keep}) would cut into the snapshot at ${this.base}`);
    this.sync();
    const n = Number(keep - this.base);
    const size = this.records.slice(0, n).reduce((sum, record) => sum + record.length, 0);
    ftruncateSync(this.fd, size);
    fdatasyncSync(this.fd);
    this.records.length = n;
    this.terms.length = n;
    this.digests.length = n + 1;
    this.syncedIndex = keep;
  }

  /** Applies every record after the snapshot again, in order: a state rebuilt after a truncation. */
  replay(apply: Apply, upTo = this.lastIndex): void {
    const n = Number(upTo - this.base);
    for (const bytes of this.records.slice(0, n)) {
      const { type, record } = recordOf(bytes);
      apply(type, record);
    }
  }

  /**
   * Compaction (section 10): `state` is the service's state as of record `upTo`, which must be
   * committed. The snapshot takes the place of records up to `upTo`; the ones after it stay.
   */
  compact(state: ValueMap, upTo: bigint): void {
    this.sync();
    const payload = new Map([...state, ['index', upTo], ['term', this.termAt(upTo)!], ['digest', this.digest(upTo)!]]);
    const keep = this.records.slice(Number(upTo - this.base));
    this.replaceFiles(payload, keep);
    const terms = this.terms.slice(Number(upTo - this.base));
    const digests = this.digests.slice(Number(upTo - this.base));
    this.useSnapshot(payload);
    this.records = keep;
    this.terms = terms;
    this.digests = digests;
  }

  /**
   * A snapshot from the primary (section 10). If this log holds the snapshot's last record (the
   * same digest there), the records after it stay; otherwise the whole log goes.
   */
  install(payload: ValueMap): void {
    this.sync();
    const index = payload.get('index') as bigint;
    const digest = payload.get('digest') as bigint;
    const same = this.digest(index) === digest;
    const keep = same ? this.records.slice(Number(index - this.base)) : [];
    const terms = same ? this.terms.slice(Number(index - this.base)) : [];
    const digests = same ? this.digests.slice(Number(index - this.base)) : [digest];
    this.replaceFiles(payload, keep);
    this.useSnapshot(payload);
    this.records = keep;
    this.terms = terms;
    this.digests = digests;
    this.syncedIndex = this.lastIndex;
  }

  /** Lab 5's compaction steps: the snapshot first (the commit point is its rename), then the log. */
  private replaceFiles(snapshot: ValueMap, keep: Buffer[]): void {
    const tmp = path.join(this.dir, 'snapshot.tmp');
    writeDurably(tmp, encodeRecord(RecordType.SNAPSHOT, snapshot));
    renameSync(tmp, path.join(this.dir, 'snapshot'));
    // The commit point: from here on, the snapshot holds everything up to its index.
    syncDir(this.dir);
    closeSync(this.fd);
    const logTmp = path.join(this.dir, 'log.tmp');
    writeDurably(logTmp, Buffer.concat(keep));
    renameSync(logTmp, this.logFile);
    syncDir(this.dir);
    this.fd = openSync(this.logFile, 'a');
  }

  /** The `term` file: the current term and the replica voted for in it (0: none). Missing: 0 0. */
  loadTerm(): { term: bigint; votedFor: number } {
    const file = path.join(this.dir, 'term');
    if (!existsSync(file)) return { term: 0n, votedFor: 0 };
    const match = /^(\d+) (\d+)\n$/.exec(readFileSync(file, 'utf8'));
    if (!match) throw new Refusal('term', 0, 'it is not two whole numbers and a newline');
    return { term: BigInt(match[1]!), votedFor: Number(match[2]) };
  }

  /** Saves the term and the vote, durably, before the replica says anything that depends on them. */
  saveTerm(term: bigint, votedFor: number): void {
    const tmp = path.join(this.dir, 'term.tmp');
    writeDurably(tmp, Buffer.from(`${term} ${votedFor}\n`));
    renameSync(tmp, path.join(this.dir, 'term'));
    syncDir(this.dir);
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
function payloadOf(file: string, record: Intact): ValueMap {
  try {
    const payload = decodePayload(record);
    if (typeof payload.get('index') !== 'bigint') throw new DecodeError('it has no int "index"');
    return payload;
  } catch (error) {
    if (error instanceof DecodeError) throw new Refusal(file, record.offset, `an intact record is wrong: ${error.message}`);
    throw error;
  }
}

/** Applies one intact record; any fault in it is a Refusal naming the file and the offset. */
function replay(file: string, record: Intact, payload: ValueMap, apply: Apply): void {
  try {
    apply(record.type, payload);
  } catch (error) {
    throw new Refusal(file, record.offset, `an intact record of type ${record.type} is wrong: ${(error as Error).message}`);
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

/** Writes a whole file and syncs it before returning. */
function writeDurably(file: string, bytes: Buffer): void {
  const fd = openSync(file, 'w');
  try {
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    fsyncSync(fd);
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
