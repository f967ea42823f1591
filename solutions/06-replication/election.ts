// Failure detection and election (spec/06-replication.md, sections 6 and 7).
//
// Every H ms each replica says it is alive: the primary with an APPEND (replication.ts), the
// others with a HEARTBEAT. A backup that has had no APPEND from its primary for T ms suspects it
// and becomes a candidate.
//
// The election is LCR on a ring of the replicas in ascending id order. Each candidate sends its
// token (last index, id) to its successor, the next replica it believes alive, so that dead ones
// are skipped. A candidate forwards a larger token and drops a smaller one; the token that comes
// back to its own candidate, having visited a majority, is the largest of that majority, and its
// candidate becomes the primary. Tokens can be lost (a replica dies holding one), so a candidate
// sends its own again every 2·H ms until it hears of a primary.
import { performance } from 'node:perf_hooks';
import { Type, intField, intListField } from './messages.js';
import type { Replica } from './node.js';
import { valueMap, type ValueMap } from './values.js';

interface Token {
  candidate: number;
  last: bigint;
}

/** Tokens compare by last index, then by id: the most complete log wins, then the highest id. */
function larger(a: Token, b: Token): boolean {
  return a.last !== b.last ? a.last > b.last : a.candidate > b.candidate;
}

export class Election {
  private tokenSentAt = 0;

  constructor(private readonly replica: Replica) {}

  /** Every H ms: say we are alive, suspect a silent primary, send our token again. */
  tick(): void {
    const r = this.replica;
    if (r.role === 'primary') {
      r.replication.heartbeat();
      return;
    }
    r.peers.broadcast(Type.HEARTBEAT, valueMap({ from: BigInt(r.id), primary: BigInt(r.primary) }));
    if (r.role === 'candidate') {
      if (performance.now() - this.tokenSentAt >= 2 * r.config.heartbeatMs) this.sendOwnToken();
      return;
    }
    if (this.primarySilent()) {
      // The timer fired, but the primary's heartbeats may be waiting, unread, in our socket (this
      // process was the slow one). setImmediate runs after pending input is read: look again then.
      setImmediate(() => {
        if (r.role === 'backup' && this.primarySilent()) r.becomeCandidate();
      });
    }
  }

  /**
   * No APPEND from the primary we follow (or no primary known) for T ms. Only an APPEND counts: a
   * HEARTBEAT says its sender is alive, not that it is the primary.
   */
  private primarySilent(): boolean {
    const r = this.replica;
    const heard = Math.max(r.appended.get(r.primary) ?? 0, r.followedSince);
    return performance.now() - heard >= r.config.timeoutMs;
  }

  /** The next replica after this one on the ring that it believes alive. */
  successor(): number | undefined {
    const r = this.replica;
    const ring = [...r.config.peers.keys()].sort((a, b) => a - b);
    const after = [...ring.filter((id) => id > r.id), ...ring.filter((id) => id < r.id)];
    return after.find((id) => r.alive(id));
  }

  sendOwnToken(): void {
    const r = this.replica;
    this.tokenSentAt = performance.now();
    // A cluster of one is its own majority.
    if (r.majority === 1) return r.becomePrimary();
    const next = this.successor();
    const token = valueMap({ from: BigInt(r.id), candidate: BigInt(r.id), last: r.store.lastIndex, visited: [BigInt(r.id)] });
    // Sent again every 2·H ms: once the view has settled it goes out.
    if (next !== undefined && r.settled) r.peers.send(next, Type.ELECTION, token);
  }

  onElection(message: ValueMap): void {
    const r = this.replica;
    // A primary has nothing to elect; a replica whose view of who is alive changed a moment ago
    // may not see the ring as the others do, and rings seen differently could elect two primaries.
    if (r.role === 'primary' || !r.settled) return;
    if (r.role === 'backup') {
      // Our primary is alive: there is nothing to elect.
      if (!this.primarySilent() && r.primary !== 0) return;
      r.becomeCandidate();
    }
    const token = { candidate: Number(intField(message, 'candidate')), last: intField(message, 'last') };
    const visited = intListField(message, 'visited').map(Number);
    if (token.candidate === r.id) {
      if (new Set(visited).size >= r.majority) r.becomePrimary();
      return;
    }
    if (visited.includes(r.id)) return; // Round the ring once without its candidate: a dead one.
    if (!larger(token, { candidate: r.id, last: r.store.lastIndex })) return;
    const next = this.successor();
    const forwarded = valueMap({ from: BigInt(r.id), candidate: BigInt(token.candidate), last: token.last, visited: [...visited, r.id].map(BigInt) });
    if (next !== undefined) r.peers.send(next, Type.ELECTION, forwarded);
  }

  /** The new primary tells the ring. */
  announce(): void {
    const r = this.replica;
    const next = this.successor();
    if (next !== undefined) r.peers.send(next, Type.ELECTED, valueMap({ from: BigInt(r.id), primary: BigInt(r.id) }));
  }

  onElected(primary: number): void {
    const r = this.replica;
    if (primary === r.id) return; // Our own announcement, back around the ring.
    const already = r.role === 'backup' && r.primary === primary;
    r.becomeBackup(primary);
    const next = this.successor();
    if (!already && next !== undefined && next !== primary) r.peers.send(next, Type.ELECTED, valueMap({ from: BigInt(r.id), primary: BigInt(primary) }));
  }
}
