// What the proxies between replicas show about terms (spec/07-consensus.md, section 15), for the
// checker: every message a replica sent through proxy i→j is decoded, and
//
// - an APPEND, INSTALL_SNAPSHOT or ELECTED of term t from replica i is i acting as the primary
//   of t (ELECTED names the primary it announces): a claim;
// - a VOTE {granted: 1} of term t from replica i to replica j is i's vote in t;
// - an APPEND's entries are records of its sender's log in its term (a primary's log only grows
//   within its term), and its commit index says which of them are committed: each such record is
//   shown committed at its index, and the same index may never later be shown committed with
//   other bytes;
// - an APPENDED {index: k} of term t from backup i to primary j says i's log is j's up to k
//   (section 7), and j never changes its log within t: so a later MISMATCH of term t from i to j
//   with `prev` at most k says i lost records it had, or computes digests that are not the spec's
//   (after a snapshot they go on from the snapshot's digest).
//
// Messages are read as they reach the proxy (what the sender sent, whether or not a fault lost it
// afterwards), each connection through the proxy on its own, so a cut mid-frame cannot confuse
// two connections. The proxy's observer (the test's trace) still sees everything it saw before.
import type { FaultProxy } from '../harness/index.js';
import type { ProxyObserver } from '../harness/proxy.js';
import { encodeRecord } from '../../labs/05-persistence/tests/logfile.js';
import type { ValueMap } from '../../labs/03-protocol/tests/wire.js';
import { MessageDecoder, T7, intOf, type Decoded } from '../../labs/07-consensus/tests/wire.js';
import type { History } from './history.js';

/** What one primary's APPENDs in one term have shown: its records by index, and its highest commit index. */
interface Leader {
  records: Map<bigint, { type: number; bytes: Buffer; payload: ValueMap }>;
  commit: bigint;
}

export class TermWatch {
  private readonly leaders = new Map<string, Leader>();
  /** By "term:backup:primary": the highest index the backup acknowledged, and when. */
  private readonly acked = new Map<string, { index: bigint; t: number }>();

  constructor(private readonly history: History) {}

  /** Starts watching what replica `from` sends replica `to` through `proxy`. */
  attach(proxy: FaultProxy, from: number, to: number): void {
    const inner = proxy.observer;
    const decoders = new Map<number, MessageDecoder>();
    const observer: ProxyObserver = {
      accepted: (link, client) => inner?.accepted(link, client),
      arrived: (link, direction, chunk) => {
        inner?.arrived(link, direction, chunk);
        if (direction !== 'forward') return;
        let decoder = decoders.get(link);
        if (!decoder) decoders.set(link, (decoder = new MessageDecoder()));
        for (const m of decoder.push(chunk)) this.seen(from, to, m);
      },
      delivered: (link, direction, chunk) => inner?.delivered(link, direction, chunk),
      dropped: (link, direction, chunk, why) => inner?.dropped(link, direction, chunk, why),
      fault: (what, text) => inner?.fault(what, text),
    };
    proxy.observer = observer;
  }

  private seen(from: number, to: number, m: Decoded): void {
    if (m.value === undefined || !(m.value instanceof Map)) return;
    const term = intOf(m.value, 'term');
    if (term === undefined) return;
    const t = Number(term);
    switch (m.type) {
      case T7.APPEND:
        this.history.claim(t, from, `an APPEND to replica ${to}`);
        this.append(from, term, m.value);
        return;
      case T7.INSTALL_SNAPSHOT: {
        this.history.claim(t, from, `an INSTALL_SNAPSHOT to replica ${to}`);
        const snapshot = m.value.get('snapshot');
        const index = intOf(snapshot, 'index') ?? 0n;
        this.history.snapshots.push({ from, to, index, t: this.history.now() });
        this.history.message(`replica ${from} sent replica ${to} its snapshot, up to record ${index}`, [from, to]);
        return;
      }
      case T7.ELECTED: {
        const primary = intOf(m.value, 'primary');
        if (primary !== undefined) this.history.claim(t, Number(primary), `an ELECTED that replica ${from} sent replica ${to}`);
        return;
      }
      case T7.APPENDED: {
        // A replica sends to another on one connection at a time (spec/06-replication.md,
        // section 1), so what the proxy reads from it comes in the order it was sent.
        const index = intOf(m.value, 'index');
        const key = `${t}:${from}:${to}`;
        if (index !== undefined && index > (this.acked.get(key)?.index ?? -1n)) this.acked.set(key, { index, t: this.history.now() });
        return;
      }
      case T7.MISMATCH: {
        const prev = intOf(m.value, 'prev');
        const acked = this.acked.get(`${t}:${from}:${to}`);
        if (prev !== undefined && acked && prev <= acked.index) {
          this.history.disowned ??= { backup: from, primary: to, term: t, acked: acked.index, ackedAt: acked.t, prev, last: intOf(m.value, 'last'), t: this.history.now() };
        }
        return;
      }
      case T7.VOTE:
        if (intOf(m.value, 'granted') === 1n) {
          this.history.vote(from, to, t);
          this.history.message(`replica ${from} granted replica ${to} its vote in term ${t}`, [from, to]);
        }
        return;
      default:
        return;
    }
  }

  /** An APPEND's entries and commit index, from `from`, the primary of `term`. */
  private append(from: number, term: bigint, value: Map<string, unknown>): void {
    const key = `${term}:${from}`;
    let leader = this.leaders.get(key);
    if (!leader) this.leaders.set(key, (leader = { records: new Map(), commit: 0n }));
    const prev = intOf(value as never, 'prev');
    const entries = value.get('entries');
    if (prev !== undefined && Array.isArray(entries)) {
      let index = prev;
      for (const item of entries) {
        index++;
        const type = intOf(item, 'type');
        const record = item instanceof Map ? item.get('record') : undefined;
        if (type === undefined || !(record instanceof Map)) continue;
        const bytes = encodeRecord(Number(type), record);
        leader.records.set(index, { type: Number(type), bytes, payload: record });
        if (index <= leader.commit) this.committed(leader, from, term, index);
      }
    }
    const commit = intOf(value as never, 'commit');
    if (commit !== undefined && commit > leader.commit) {
      for (const index of leader.records.keys()) if (index > leader.commit && index <= commit) this.committed(leader, from, term, index);
      leader.commit = commit;
    }
  }

  private committed(leader: Leader, from: number, term: bigint, index: bigint): void {
    const record = leader.records.get(index)!;
    this.history.commit(index, { ...record, by: from, term: Number(term), t: this.history.now() });
  }
}
