// The data directory (spec/05-persistence.md, sections 3, 6, 8 and 9): the lock, the log, the
// snapshot, recovery and compaction. The service above it never touches a file.
//
// Appending a record only puts its bytes in `pending`. A sync writes them to the log and syncs the
// file: that is the commit point, after which the server may tell anyone about those records, up
// to `durableIndex`. The Outbox runs one sync at a time, in the background, for everything
// appended since the last one, so one sync covers many requests (group commit).
//
// Recovery reads everything before it changes anything: a directory it refuses is left as it was.
//
// Yours: lock, recover, sync and syncInBackground (phase 5.1), compact (5.4). The helpers below
// them are done.
import { closeSync, existsSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { RecordType, decodePayload, encodeRecord, intactAfter, intactAt, type Intact } from './records.js';
import { NotImplemented } from './todo.js';
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

  /**
   * Takes the lock (spec section 3): create LOCK exclusively (openSync(file, 'wx'), see
   * writeExclusive below) with our process id; if it exists and names a live process that is not
   * us (alive() below), throw Locked with a message naming the directory and that id; if it
   * names a dead one, replace it. Create the directory first if it is missing. Set this.locked.
   */
  lock(): void {
    throw new NotImplemented('5.1', 'Store.lock in store.ts');
  }

  /**
   * Replays the snapshot and the log into `apply` (spec section 8). Throws Refusal, having changed
   * no file, if they are damaged. Returns the line to print about a torn tail it dropped, if any.
   *
   * 1. `snapshot`, if it exists: one intact record (intactAt with maxPayload 0xffff_ffff) of type
   *    SNAPSHOT filling the whole file, else Refusal('snapshot', 0, why). Apply it; S = its index.
   * 2. `log` (missing: empty): read its records from offset 0 with intactAt, one after another,
   *    and apply each as you read it (holding 100,000 records first only makes work): payloadOf(),
   *    skip index <= S, require index === this.lastIndex + 1n (else Refusal), replay() it, set
   *    this.lastIndex, count this.logRecords. At `end`, the first offset where no intact record
   *    begins: if intactAfter(bytes, end) finds one after it, Refusal('log', end, why). Then
   *    this.durableIndex = this.lastIndex: what was read from disk is durable.
   * 3. Only now change files: open the log for appending (this.fd = openSync(logFile, 'a')); if
   *    end < bytes.length, ftruncateSync to end, fsyncSync, and return a line such as
   *    `log: dropped N bytes at offset P (torn tail)`; delete snapshot.tmp and log.tmp; syncDir().
   */
  recover(apply: Apply): string | undefined {
    throw new NotImplemented('5.1', 'Store.recover in store.ts');
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

  /**
   * Writes the pending records to the log (writeSync until every byte is written) and syncs the
   * file (fdatasyncSync), unless this.sync_ is 'none'; then sets this.durableIndex to the index of
   * the last record written. This is the commit point of spec section 6: the Outbox writes a held
   * frame only once durableIndex reaches the frame's index. Nothing pending: nothing to do.
   */
  sync(): void {
    throw new NotImplemented('5.1', 'Store.sync in store.ts');
  }

  /**
   * The same, with the sync in the background, calling `done` once durableIndex is updated: the
   * Outbox then goes on answering requests while the disk works, and the next sync covers them
   * all. The simplest correct version is `this.sync(); setImmediate(done);`; the faster one writes
   * the records, then calls fs.fdatasync(fd, callback) and updates durableIndex in the callback,
   * to the index of the last record written before the sync began, not to this.lastIndex then.
   */
  syncInBackground(done: () => void): void {
    throw new NotImplemented('5.1', 'Store.syncInBackground in store.ts');
  }

  /**
   * Compaction (spec section 9): `snapshot` is the state as of this.lastIndex, without its index.
   * sync() first; write the SNAPSHOT record (index added) to snapshot.tmp and sync it
   * (writeDurably); rename it to `snapshot`; syncDir() -- the commit point; then replace the log
   * with an empty one the same way (log.tmp, renamed to log, syncDir), reopen this.fd for
   * appending, and set this.logRecords to 0. The order is the point: see the spec's table.
   */
  compact(snapshot: ValueMap): void {
    throw new NotImplemented('5.4', 'Store.compact in store.ts');
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
