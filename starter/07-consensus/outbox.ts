// Group commit (spec/05-persistence.md, section 6), where "durable" now means "committed": on a
// majority of the replicas (spec/06-replication.md, section 5.1).
//
// Requests are handled as they arrive; each appends its records to the Store and hands its reply
// (and any push it causes) to its connection, which holds it with the index of the last record
// appended before it was made. At the end of the event loop's turn, flush() syncs the log once,
// for every record of the turn, and lets replication act on it (the primary sends the new records
// to its backups; a backup reports what it stored). Then each connection writes the frames whose
// records are committed. Replies to what arrives later (a backup's APPENDED) move the commit
// index on, and release() lets more frames out.
//
// After frames are written, the deliveries they made are recorded (lab 5, section 7): new records,
// synced in the next turn.
import type { Store } from './store.js';

/** A connection with frames that wait for the commit index. */
export interface Holder {
  /** Writes the frames whose records are committed; true if none is left held. */
  release(commit: bigint): boolean;
}

export class Outbox {
  private readonly holders = new Set<Holder>();
  private scheduled = false;

  constructor(
    private readonly store: Store,
    /** The commit index now. */
    private readonly commitIndex: () => bigint,
    /** Called after each sync: replication's turn. */
    private readonly synced: () => void,
  ) {}

  /** `holder` has frames waiting. */
  hold(holder: Holder): void {
    this.holders.add(holder);
    this.schedule();
  }

  /** A closed connection: nothing of it is left to write. */
  forget(holder: Holder): void {
    this.holders.delete(holder);
  }

  /** Something was appended, or is to be sent after the next sync: flush at the end of this turn. */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate runs after the turn's I/O callbacks: every request that arrived is in the batch.
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    this.store.sync();
    this.synced();
    this.release();
  }

  /** Lets out every frame whose records are committed. */
  release(): void {
    const commit = this.commitIndex();
    for (const holder of [...this.holders]) if (holder.release(commit)) this.holders.delete(holder);
    // The MESSAGES_DELIVERED records of the frames just written: synced in the next turn.
    if (this.store.dirty) this.schedule();
  }
}
