// Group commit (spec/05-persistence.md, section 6): every frame the server produces waits here
// until the records appended before it are synced.
//
// Requests are handled as they arrive; each appends its records to the Store and hands its reply
// (and any push it causes) to its connection, which holds them. At the end of the event loop's
// turn, flush() syncs the log once, for every record of the turn, and then lets every connection
// write what it held. A sync takes milliseconds; requests that arrive meanwhile wait in their
// sockets and make up the next turn's batch, so the more clients, the more requests per sync.
//
// After the frames are written, the deliveries they made are recorded (section 7), and if the log
// has grown past the threshold, it is compacted (section 9), between two requests.
import type { Service } from './service.js';
import type { Store } from './store.js';

/** A connection with frames to write once the log is synced. */
export interface Holder {
  release(): void;
}

export class Outbox {
  private readonly holders = new Set<Holder>();
  private scheduled = false;

  constructor(
    private readonly store: Store,
    private readonly service: Service,
    private readonly compactAfter: number,
  ) {}

  /** `holder` has frames waiting: they go out at the end of this turn. */
  hold(holder: Holder): void {
    this.holders.add(holder);
    this.schedule();
  }

  /** A closed connection: nothing of it is left to write. */
  forget(holder: Holder): void {
    this.holders.delete(holder);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate runs after the turn's I/O callbacks: every request that arrived is in the batch.
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    this.store.sync();
    const holders = [...this.holders];
    this.holders.clear();
    for (const holder of holders) holder.release();
    if (this.store.logRecords >= this.compactAfter) this.store.compact(this.service.snapshot());
    // The MESSAGES_DELIVERED records of the frames just written: synced in the next turn.
    if (this.store.dirty) this.schedule();
  }
}
