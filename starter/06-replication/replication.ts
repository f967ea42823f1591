// The log, from the primary to the backups (spec/06-replication.md, section 5).
//
// The primary keeps, for each backup b, next[b] (the next index to send it) and match[b] (the
// highest index b reported holding as the primary does). After each sync of its own log it sends
// each backup an APPEND with what it has not sent yet; every H ms it sends one anyway, maybe empty:
// that is its heartbeat. The commit index is the highest index held by a majority, the primary's
// own synced log included; frames wait for it (outbox.ts).
//
// An APPEND says where it starts: `prev` and the digest of the primary's log there. A backup whose
// log does not match there answers MISMATCH, and the primary steps next[b] back until it does; the
// same rule catches up a backup that was down, or started empty. A backup whose log goes on with
// records the primary does not have cuts them off (they were never committed) and takes the
// primary's. It answers APPENDED only once what it appended is synced: the primary counts that
// answer as a copy on disk.
//
// Given: the bookkeeping of next and match, the heartbeat, sendAppend (an example of a replica
// message, built and sent) and afterSync. Yours (phase 6.2): onAppended, onMismatch, updateCommit,
// onAppend.
import { RecordType, encodeRecord } from './records.js';
import { ProtocolError, Type, anyField, asMap, intField } from './messages.js';
import type { Replica } from './node.js';
import { nextDigest } from './store.js';
import { NotImplemented } from './todo.js';
import { valueMap, type Value, type ValueMap } from './values.js';

/** Entries in one APPEND: a few hundred small records fit in a frame with room to spare. */
const maxEntries = 256;
const maxEntryBytes = 512 * 1024;

export class Replication {
  private readonly next = new Map<number, bigint>();
  private readonly match = new Map<number, bigint>();
  /** A backup's answer to the last APPEND it handled, sent once its log is synced. */
  private pendingAck: { primary: number; index: bigint } | undefined;

  constructor(private readonly replica: Replica) {}

  // ---- The primary.

  becomePrimary(): void {
    for (const id of this.replica.config.peers.keys()) this.reset(id);
    this.heartbeat();
  }

  /** What we knew of replica `id` may be stale (it may have restarted empty): start from our end. */
  private reset(id: number): void {
    this.next.set(id, this.replica.store.lastIndex + 1n);
    this.match.set(id, 0n);
  }

  /** Our connection to replica `id` opened (again). */
  connectionOpened(id: number): void {
    if (this.replica.role !== 'primary') return;
    this.reset(id);
    this.sendAppend(id);
  }

  /** Every H ms: an APPEND to every backup, with entries or without. */
  heartbeat(): void {
    for (const id of this.replica.config.peers.keys()) this.sendAppend(id);
  }

  /** After each sync: the primary sends what it has not sent; a backup reports what it stored. */
  afterSync(): void {
    const r = this.replica;
    if (r.role === 'primary') {
      for (const id of r.config.peers.keys()) if (this.next.get(id)! <= r.store.syncedIndex) this.sendAppend(id);
      this.updateCommit();
    } else if (this.pendingAck) {
      const { primary, index } = this.pendingAck;
      this.pendingAck = undefined;
      r.peers.send(primary, Type.APPENDED, valueMap({ from: BigInt(r.id), index }));
    }
  }

  private sendAppend(id: number): void {
    const r = this.replica;
    if (!r.peers.isOpen(id)) return;
    const next = this.next.get(id)!;
    const prev = next - 1n;
    const entries: Value[] = [];
    let bytes = 0;
    // Only synced records: the primary's own copy counts before anyone else's does.
    for (let index = next; index <= r.store.syncedIndex && entries.length < maxEntries && bytes < maxEntryBytes; index++) {
      const { type, record } = r.store.entry(index);
      entries.push(valueMap({ type: BigInt(type), record }));
      bytes += encodeRecord(type, record).length;
    }
    r.peers.send(id, Type.APPEND, valueMap({ from: BigInt(r.id), prev, digest: r.store.digest(prev)!, entries, commit: r.commit }));
    this.next.set(id, next + BigInt(entries.length));
  }

  /**
   * APPENDED {index} from backup `id`: it holds our log up to `index`, on disk. match[id] and
   * next[id] only grow; then the commit index may move (updateCommit).
   */
  onAppended(id: number, index: bigint): void {
    throw new NotImplemented('6.2', 'Replication.onAppended in replication.ts');
  }

  /**
   * MISMATCH {prev, last} from backup `id`: it lacks our record `prev`, or holds another one there.
   * next[id] = max(1, min(next[id], prev, last + 1)), and send an APPEND from there at once.
   */
  onMismatch(id: number, prev: bigint, last: bigint): void {
    throw new NotImplemented('6.2', 'Replication.onMismatch in replication.ts');
  }

  /**
   * The commit index: the largest index that a majority of the N replicas hold (replica.majority),
   * our own synced log (store.syncedIndex) and each backup's match counted. It never goes down; when
   * it moves, the frames waiting for it go out (replica.outbox.release()).
   */
  private updateCommit(): void {
    throw new NotImplemented('6.2', 'Replication.updateCommit in replication.ts');
  }

  // ---- A backup.

  /**
   * APPEND {prev, digest, entries, commit} from the primary we follow (section 5.3):
   * 1. If our log has no record `prev`, or our digest there (store.digest) is not `digest`: answer
   *    MISMATCH {from, prev, last: our last index} (peers.send) and stop.
   * 2. Each entry {type, record} is record prev + 1, prev + 2, ...: its bytes are
   *    encodeRecord(type, record), its digest nextDigest(digest before it, bytes). Keep a record we
   *    already have with that digest. Otherwise, if our log goes on past it, truncate the log there
   *    (store.truncate) and rebuild the state (replica.rebuild); then append it (store.append) and
   *    apply it (replica.service.apply, with its index).
   * 3. The answer, APPENDED {index: prev + the number of entries}, goes out only after the sync:
   *    set pendingAck and schedule a flush (replica.outbox.schedule); afterSync() sends it.
   * 4. Our commit index: max(ours, min(commit, prev + the number of entries)).
   */
  onAppend(primary: number, message: ValueMap): void {
    throw new NotImplemented('6.2', 'Replication.onAppend in replication.ts');
  }
}
