// The data directory (spec/05-persistence.md, sections 3, 6, 8 and 9): the lock, the log, the
// snapshot, recovery and compaction. The service above it never touches a file.
//
// Appending a record only puts its bytes in `pending`. A sync writes them to the log and syncs the
// file: that is the commit point, after which the server may tell anyone about those records, up
// to `durableIndex`. The Outbox runs one sync at a time, in the background, for everything
// appended since the last one, so one sync covers many requests (group commit).
//
// Recovery reads everything before it changes anything: a directory it refuses is left as it was.
import { closeSync, existsSync, fdatasync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { RecordType, decodePayload, encodeRecord, intactAfter, intactAt, type Intact } from './records.js';
import { DecodeError, type ValueMap } from './values.js';

export type SyncMode = 'batch' | 'each' | 'none';

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

export class Store {
  private readonly logFile: string;
  private readonly lockFile: string;
  private fd = -1;
  private pending: Buffer[] = [];
  private locked = false;
  /** The index of the last record appended, synced or not. */
  lastIndex = 0n;
  /** The index of the last record on stable storage. */
  durableIndex = 0n;
  /** Records in the log file (and pending), for the compaction threshold. */
  logRecords = 0;

  constructor(
    readonly dir: string,
    private readonly sync_: SyncMode = 'batch',
  ) {
    this.logFile = path.join(dir, 'log');
    this.lockFile = path.join(dir, 'LOCK');
  }

  /** Takes the lock (section 3). Throws Locked if a live server holds it. */
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
   * Replays the snapshot and the log into `apply` (section 8). Throws Refusal, having changed no
   * file, if they are damaged. Returns a description of the torn tail it dropped, if any.
   */
  recover(apply: Apply): string | undefined {
    let snapshotIndex = 0n;
    const snapshotFile = path.join(this.dir, 'snapshot');
    if (existsSync(snapshotFile)) {
      const bytes = readFileSync(snapshotFile);
      const record = intactAt(bytes, 0, 0xffff_ffff);
      if (!record || record.end !== bytes.length) throw new Refusal('snapshot', 0, 'it is not one intact SNAPSHOT record');
      if (record.type !== RecordType.SNAPSHOT) throw new Refusal('snapshot', 0, `its record has type ${record.type}, not ${RecordType.SNAPSHOT}`);
      const payload = payloadOf('snapshot', record);
      replay('snapshot', record, payload, apply);
      snapshotIndex = payload.get('index') as bigint;
    }
    this.lastIndex = snapshotIndex;

    // One pass: each intact record is applied as it is read. (Holding all of a long log's records
    // first, to apply them after, only gives the garbage collector work.)
    const bytes = existsSync(this.logFile) ? readFileSync(this.logFile) : Buffer.alloc(0);
    let end = 0;
    for (let record = intactAt(bytes, end); record; record = intactAt(bytes, end)) {
      end = record.end;
      const payload = payloadOf('log', record);
      const index = payload.get('index') as bigint;
      // Left by a crash between the two halves of a compaction: the snapshot holds them already.
      if (index <= snapshotIndex) continue;
      if (index !== this.lastIndex + 1n) throw new Refusal('log', record.offset, `its index is ${index}, not ${this.lastIndex + 1n}`);
      replay('log', record, payload, apply);
      this.lastIndex = index;
      this.logRecords++;
    }
    // No intact record begins at `end`: a torn tail, unless intact records follow (damage).
    const after = intactAfter(bytes, end);
    if (after !== undefined) throw new Refusal('log', end, `intact records follow it (the first at offset ${after})`);

    this.durableIndex = this.lastIndex;

    // Decided: the server starts. Only now does anything change on disk.
    let dropped: string | undefined;
    this.fd = openSync(this.logFile, 'a');
    if (end < bytes.length) {
      ftruncateSync(this.fd, end);
      fsyncSync(this.fd);
      dropped = `log: dropped ${bytes.length - end} bytes at offset ${end} (torn tail)`;
    }
    rmSync(path.join(this.dir, 'snapshot.tmp'), { force: true });
    rmSync(path.join(this.dir, 'log.tmp'), { force: true });
    syncDir(this.dir);
    return dropped;
  }

  /** Appends a record, giving it the next index. Nothing is on disk until sync(). */
  append(type: number, fields: ValueMap): bigint {
    const index = this.lastIndex + 1n;
    this.lastIndex = index;
    this.logRecords++;
    this.pending.push(encodeRecord(type, new Map([...fields, ['index', index]])));
    if (this.sync_ === 'each') this.sync();
    return index;
  }

  /** True if records were appended since the last sync. */
  get dirty(): boolean {
    return this.pending.length > 0;
  }

  /** Writes the pending records and syncs the log, before returning. */
  sync(): void {
    const upTo = this.write();
    if (upTo === undefined) return;
    if (this.sync_ !== 'none') fdatasyncSync(this.fd);
    this.durableIndex = upTo;
  }

  /**
   * Writes the pending records, then syncs the log in the background and calls `done`. Records
   * appended meanwhile wait for the next sync. The caller starts no other until `done`.
   */
  syncInBackground(done: () => void): void {
    const upTo = this.write();
    if (upTo === undefined || this.sync_ === 'none') {
      if (upTo !== undefined) this.durableIndex = upTo;
      setImmediate(done);
      return;
    }
    fdatasync(this.fd, (error) => {
      if (error) throw error;
      // The real commit: from here the records survive a crash of the whole machine.
      this.durableIndex = upTo;
      done();
    });
  }

  /** Writes the pending records to the log file; returns the index they reach, if there were any. */
  private write(): bigint | undefined {
    if (this.pending.length === 0) return undefined;
    const bytes = Buffer.concat(this.pending);
    this.pending = [];
    for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at);
    return this.lastIndex;
  }

  /**
   * Compaction (section 9): `snapshot` is the state as of lastIndex. Each step is ordered so
   * that a crash anywhere leaves a directory that recovers to the same state.
   */
  compact(snapshot: ValueMap): void {
    this.sync();
    const tmp = path.join(this.dir, 'snapshot.tmp');
    writeDurably(tmp, encodeRecord(RecordType.SNAPSHOT, new Map([...snapshot, ['index', this.lastIndex]])));
    renameSync(tmp, path.join(this.dir, 'snapshot'));
    // The commit point of the compaction: the snapshot has its name. Only now may the log go.
    syncDir(this.dir);
    closeSync(this.fd);
    const logTmp = path.join(this.dir, 'log.tmp');
    writeDurably(logTmp, Buffer.alloc(0));
    renameSync(logTmp, this.logFile);
    syncDir(this.dir);
    this.fd = openSync(this.logFile, 'a');
    this.logRecords = 0;
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
