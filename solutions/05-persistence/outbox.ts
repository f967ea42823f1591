// Group commit (spec/05-persistence.md, section 6): every frame the server produces waits here
// until the records appended before it are synced.
//
// Requests are handled as they arrive; each appends its records to the Store and hands its reply
// (and any push it causes) to its connection, which holds it, marked with the index of the last
// record appended so far: the frame may go out once the log is synced up to that index.
//
// At the end of an event-loop turn, flush() writes every pending record and starts one sync of
// the log, in the background. While the disk works, the server goes on reading and answering
// requests; their records wait for the next sync, which starts as soon as this one ends and
// covers all of them at once. So the more clients, the more requests per sync.
//
// After a sync, if the log has grown past the threshold, it is compacted (section 9), with no sync
// in flight and before any frame goes out; then the frames the sync covered are written, and the
// deliveries they made are recorded (section 7).
import type { Service } from './service.js';
import type { Store } from './store.js';

/** A connection with frames to write once the log is synced up to their index. */
export interface Holder {
  /** Writes the frames whose records are durable; returns true if some still wait. */
  release(durable: bigint): boolean;
}

export class Outbox {
  private readonly holders = new Set<Holder>();
  private scheduled = false;
  private syncing = false;

  constructor(
    private readonly store: Store,
    private readonly service: Service,
    private readonly compactAfter: number,
  ) {}

  /** The index a frame made now must wait for: the last record appended. */
  get appended(): bigint {
    return this.store.lastIndex;
  }

  /** `holder` has frames waiting: they go out after the next sync. */
  hold(holder: Holder): void {
    this.holders.add(holder);
    this.schedule();
  }

  /** A closed connection: nothing of it is left to write. */
  forget(holder: Holder): void {
    this.holders.delete(holder);
  }

  /** A sync soon: for records appended outside a request (the deliveries a write made). */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate runs after the turn's I/O callbacks: every request that arrived is in the batch.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    // A sync in flight looks again when it ends.
    if (this.syncing) return;
    if (!this.store.dirty) {
      this.release();
      return;
    }
    this.syncing = true;
    this.store.syncInBackground(() => {
      this.syncing = false;
      // Before the frames go out: a reply never comes back while a compaction it follows is running.
      if (this.store.logRecords >= this.compactAfter) this.store.compact(this.service.snapshot());
      this.release();
      if (this.store.dirty || this.holders.size > 0) this.schedule();
    });
  }

  /** Writes every frame the log's durable records cover. */
  private release(): void {
    for (const holder of [...this.holders]) if (!holder.release(this.store.durableIndex)) this.holders.delete(holder);
  }

  /**
   * Clean shutdown: sync everything now and write every frame; then, once the writes' callbacks
   * have recorded what they delivered (on the next turn), sync that too.
   */
  drain(done: () => void): void {
    this.store.sync();
    this.release();
    setImmediate(() => {
      this.store.sync();
      done();
    });
  }
}
