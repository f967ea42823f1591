// The log, from the primary to the backups (spec/07-consensus.md, sections 7, 8 and 10).
//
// Lab 6's replication, with terms. The primary keeps, for each backup b, next[b] (the next index
// to send it) and match[b] (the highest index b reported holding as the primary does), and counts
// only answers of its own term. After each sync of its own log it sends each backup an APPEND with
// what it has not sent yet; every H ms it sends one anyway, maybe empty.
//
// An APPEND says where it starts: `prev` and the digest of the primary's log there, the check on
// the previous entry. A backup whose log does not match there answers MISMATCH, and the primary
// steps next[b] back until it does, with APPENDs that carry no entries (probes) until the backup
// answers APPENDED: entries sent ahead would move next[b] forward again, and an answer to them
// would undo the step back. A backup whose log goes on with records the primary does not
// have (the same index, another term) cuts them off and takes the primary's. It answers APPENDED
// only once what it appended is synced.
//
// The commit rule: the primary's commit index moves to the highest index a majority holds only
// if that record is of the primary's own term; the records before it are committed with it. A
// record of an older term held by a majority may still be replaced (section 8 shows how).
//
// A backup so far behind that what it lacks has been compacted away gets the primary's snapshot
// (INSTALL_SNAPSHOT) instead, then the records after it.
//
// Given: lab 6's replication with terms (the primary's APPENDs and probes, the backup's repair).
// Yours: updateCommit, the commit rule (phase 7.3), sendSnapshot and onSnapshot (phase 7.4).
import { RecordType, encodeRecord } from './records.js';
import { ProtocolError, Type, anyField, asMap, intField } from './messages.js';
import type { Replica } from './node.js';
import { nextDigest } from './store.js';
import { NotImplemented, unlessTodo } from './todo.js';
import { valueMap, type Value, type ValueMap } from './values.js';

/** Entries in one APPEND: a few hundred small records fit in a frame with room to spare. */
const maxEntries = 256;
const maxEntryBytes = 512 * 1024;

export class Replication {
  private readonly next = new Map<number, bigint>();
  private readonly match = new Map<number, bigint>();
  /** Backups that answered MISMATCH and have not answered APPENDED since: they get probes. */
  private readonly probing = new Set<number>();
  /** A backup's answer to the last APPEND it handled, sent once its log is synced. */
  private pendingAck: { primary: number; term: bigint; index: bigint } | undefined;

  constructor(private readonly replica: Replica) {}

  // ---- The primary.

  becomePrimary(): void {
    for (const id of this.replica.config.peers.keys()) this.reset(id);
  }

  /** What we knew of replica `id` may be stale (it may have restarted empty): start from our end. */
  private reset(id: number): void {
    this.next.set(id, this.replica.store.lastIndex + 1n);
    this.match.set(id, 0n);
    this.probing.delete(id);
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
      unlessTodo(() => this.updateCommit(), () => this.labSixCommit());
    } else if (this.pendingAck) {
      const { primary, term, index } = this.pendingAck;
      this.pendingAck = undefined;
      r.peers.send(primary, Type.APPENDED, valueMap({ from: BigInt(r.id), term, index }));
    }
  }

  private sendAppend(id: number): void {
    const r = this.replica;
    if (!r.peers.isOpen(id)) return;
    const next = this.next.get(id)!;
    const prev = next - 1n;
    // What it lacks is compacted away: the snapshot, then the records after it.
    if (prev < r.store.base) return unlessTodo(() => this.sendSnapshot(id), () => undefined);
    const entries: Value[] = [];
    let bytes = 0;
    // Only synced records: the primary's own copy counts before anyone else's does. A probe has none.
    for (let index = next; !this.probing.has(id) && index <= r.store.syncedIndex && entries.length < maxEntries && bytes < maxEntryBytes; index++) {
      const { type, record } = r.store.entry(index);
      entries.push(valueMap({ type: BigInt(type), record }));
      bytes += encodeRecord(type, record).length;
    }
    r.peers.send(id, Type.APPEND, valueMap({ from: BigInt(r.id), term: r.term, prev, digest: r.store.digest(prev)!, entries, commit: r.commit }));
    this.next.set(id, next + BigInt(entries.length));
  }

  /** INSTALL_SNAPSHOT with our snapshot, to a backup that lacks records we compacted away (section 10). */
  sendSnapshot(id: number): void {
    // INSTALL_SNAPSHOT {from, term, snapshot: store.snapshot}, then next[id] = store.base + 1.
    throw new NotImplemented('7.4', 'Replication.sendSnapshot in replication.ts');
  }

  onAppended(id: number, index: bigint): void {
    if (index > (this.match.get(id) ?? 0n)) this.match.set(id, index);
    if (index + 1n > (this.next.get(id) ?? 0n)) this.next.set(id, index + 1n);
    if (this.probing.delete(id)) this.sendAppend(id);
    unlessTodo(() => this.updateCommit(), () => this.labSixCommit());
  }

  onMismatch(id: number, prev: bigint, last: bigint): void {
    let next = this.next.get(id) ?? 1n;
    if (prev < next) next = prev;
    if (last + 1n < next) next = last + 1n;
    this.next.set(id, next < 1n ? 1n : next);
    this.probing.add(id);
    this.sendAppend(id);
  }

  /**
   * The largest index that a majority holds, our own synced log counted, if that record is of our
   * own term (section 8); it never goes down.
   */
  updateCommit(): void {
    // Lab 6's rule is below (labSixCommit): the highest index a majority holds. Lab 7 adds one
    // condition (section 8). Once you write this, call it instead of labSixCommit.
    throw new NotImplemented('7.3', 'Replication.updateCommit in replication.ts');
  }

  /** Lab 6's commit rule, which the starter uses until updateCommit is written. Not in the reference. */
  private labSixCommit(): void {
    const r = this.replica;
    const held = [r.store.syncedIndex, ...[...r.config.peers.keys()].map((id) => this.match.get(id) ?? 0n)].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
    const committed = held[r.majority - 1]!;
    if (committed > r.commit) {
      r.commit = committed;
      r.outbox.release();
    }
  }

  // ---- A backup.

  onAppend(primary: number, message: ValueMap): void {
    const r = this.replica;
    const prev = intField(message, 'prev');
    const entries = anyField(message, 'entries');
    if (!Array.isArray(entries)) throw new ProtocolError('bad-request', '"entries" must be a list');
    if (prev < r.store.base) {
      // It starts inside our snapshot, which holds only committed records, as the primary's log does.
      this.acknowledge(primary, r.store.base);
      return;
    }
    if (r.store.digest(prev) !== intField(message, 'digest')) {
      r.peers.send(primary, Type.MISMATCH, valueMap({ from: BigInt(r.id), term: r.term, prev, last: r.store.lastIndex }));
      return;
    }
    let index = prev;
    for (const item of entries) {
      const entry = asMap(item);
      const type = Number(intField(entry, 'type'));
      const record = asMap(anyField(entry, 'record'));
      index++;
      if (type < 1 || type > RecordType.TERM_STARTED) throw new ProtocolError('bad-request', `an entry of record type ${type}`);
      if (intField(record, 'index') !== index) throw new ProtocolError('bad-request', `entry ${index} says it is record ${record.get('index')}`);
      const digest = nextDigest(r.store.digest(index - 1n)!, encodeRecord(type, record));
      if (r.store.digest(index) === digest) continue; // We have this one already.
      if (index <= r.store.lastIndex) {
        // Ours differs from here on (another term at this index): records no majority committed.
        console.log(`replica ${r.id}: records ${index} to ${r.store.lastIndex} differ from the primary's; truncating`);
        r.store.truncate(index - 1n);
        r.rebuild();
      }
      r.store.appendEntry(type, record);
      r.service.apply(type, record);
    }
    const commit = intField(message, 'commit');
    const upTo = commit < index ? commit : index;
    if (upTo > r.commit) r.commit = upTo;
    this.acknowledge(primary, index);
  }

  /** APPENDED {index}, once what was appended is synced (at the end of this turn). */
  private acknowledge(primary: number, index: bigint): void {
    this.pendingAck = { primary, term: this.replica.term, index };
    this.replica.outbox.schedule();
  }

  /** The primary's snapshot: installed unless we hold everything in it already. */
  /**
   * Section 10, a backup: a snapshot of index S (intField(snapshot, 'index'); it must have an int
   * `digest` too). If S is above our commit index: store.install(snapshot), then r.rebuild(), and
   * our commit index is S. Either way, acknowledge(primary, S): APPENDED {index: S} once synced.
   */
  onSnapshot(primary: number, snapshot: ValueMap): void {
    throw new NotImplemented('7.4', 'Replication.onSnapshot in replication.ts');
  }
}
