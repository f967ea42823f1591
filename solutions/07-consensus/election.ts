// Failure detection and election (spec/07-consensus.md, sections 6 to 9).
//
// Every H ms each replica sends every other a HEARTBEAT with its term and the replicas it hears;
// the primary also sends its APPENDs, which are what its backups watch. A backup that gets no
// APPEND from its primary for T ms suspects it and becomes a candidate. A primary that has heard
// from no majority for T ms steps down: it may be the one cut off.
//
// An election has two rounds. The first is lab 6's ring: each candidate sends its token (last
// term, last index, id) to its successor, the next replica it hears and that hears it; a replica
// that hears a live primary drops every token, and a candidate drops a smaller token than its own.
// A token that comes back to its candidate having visited a majority is a majority saying "no
// primary, and your log is the most complete of ours": a pre-vote. Only then does the candidate
// start a new term and ask every replica for its vote (VOTE_REQUEST). A replica grants one vote
// per term, saved to disk first, and only to a log at least as up to date as its own; a majority
// of votes makes the primary. The votes are what make a primary safe; the ring only chooses who
// asks, and keeps a replica that cannot reach a majority from raising its term at all.
import { performance } from 'node:perf_hooks';
import { Type, intField, intListField } from './messages.js';
import type { Replica } from './node.js';
import { valueMap, type ValueMap } from './values.js';

interface Token {
  candidate: number;
  lastTerm: bigint;
  last: bigint;
}

/** Tokens compare by last term, then last index, then id: the most up-to-date log wins, then the highest id. */
function larger(a: Token, b: Token): boolean {
  if (a.lastTerm !== b.lastTerm) return a.lastTerm > b.lastTerm;
  if (a.last !== b.last) return a.last > b.last;
  return a.candidate > b.candidate;
}

export class Election {
  private tokenSentAt = 0;
  /** While it asks for votes: when it began, and who granted theirs in this term. */
  private round: { since: number; votes: Set<number> } | undefined;

  constructor(private readonly replica: Replica) {}

  /** This replica's own token. */
  private own(): Token {
    const r = this.replica;
    return { candidate: r.id, lastTerm: r.store.lastTerm, last: r.store.lastIndex };
  }

  /** The term changed: votes asked for in the old one count for nothing. */
  newTerm(): void {
    this.round = undefined;
  }

  /** Every H ms: heartbeats, the primary's check on its majority, a silent primary suspected, tokens sent again. */
  tick(): void {
    const r = this.replica;
    r.peers.broadcast(Type.HEARTBEAT, valueMap({ from: BigInt(r.id), term: r.term, primary: BigInt(r.primary), alive: r.aliveIds().map(BigInt) }));
    const now = performance.now();
    if (r.role === 'primary') {
      r.replication.heartbeat();
      if (this.cutOff()) {
        // As below: after a stall of this process, what the others sent may wait unread. Look again then.
        setImmediate(() => {
          if (r.role !== 'primary' || !this.cutOff()) return;
          console.log(`replica ${r.id}: heard from no majority for ${r.config.timeoutMs} ms; stepping down`);
          r.becomeBackup(0);
        });
      }
      return;
    }
    if (r.role === 'candidate') {
      // Votes asked for and not won within T: try again, with a token first.
      if (this.round && now - this.round.since >= r.config.timeoutMs) this.round = undefined;
      if (!this.round && now - this.tokenSentAt >= 2 * r.config.heartbeatMs) this.sendOwnToken();
      return;
    }
    if (this.primarySilent()) {
      // The timer fired, but the primary's APPENDs may be waiting, unread, in our socket (this
      // process was the slow one). setImmediate runs after pending input is read: look again then.
      setImmediate(() => {
        if (r.role === 'backup' && this.primarySilent()) r.becomeCandidate();
      });
    }
  }

  /**
   * A primary that has been one for T ms and heard, within T, from fewer than ⌊N/2⌋ others (a
   * majority with itself): it may be the one cut off, and must step down (section 6).
   */
  cutOff(): boolean {
    const r = this.replica;
    return r.aliveIds().length + 1 < r.majority && performance.now() - r.primarySince >= r.config.timeoutMs;
  }

  /** No APPEND from the primary we follow (or no primary at all) for T ms. */
  primarySilent(): boolean {
    const r = this.replica;
    return performance.now() - r.followedSince >= r.config.timeoutMs;
  }

  /** Heard from `id` within T, and `id` said, in its last HEARTBEAT, that it hears us: the link works both ways. */
  reachable(id: number): boolean {
    const r = this.replica;
    return r.alive(id) && (r.hears.get(id)?.has(r.id) ?? false);
  }

  /** The next replica after this one on the ring that is reachable both ways. */
  successor(): number | undefined {
    const r = this.replica;
    const ring = [...r.config.peers.keys()].sort((a, b) => a - b);
    const after = [...ring.filter((id) => id > r.id), ...ring.filter((id) => id < r.id)];
    return after.find((id) => this.reachable(id));
  }

  sendOwnToken(): void {
    const r = this.replica;
    this.tokenSentAt = performance.now();
    // A cluster of one is its own majority.
    if (r.majority === 1) return this.startRound();
    const { lastTerm, last } = this.own();
    const next = this.successor();
    const token = valueMap({ from: BigInt(r.id), term: r.term, candidate: BigInt(r.id), lastTerm, last, visited: [BigInt(r.id)] });
    if (next !== undefined) r.peers.send(next, Type.ELECTION, token);
  }

  onElection(message: ValueMap): void {
    const r = this.replica;
    if (r.role === 'primary') return;
    if (r.role === 'backup') {
      // Our primary is alive: there is nothing to elect (the pre-vote says no).
      if (r.primary !== 0 && !this.primarySilent()) return;
      r.becomeCandidate();
    }
    const token = { candidate: Number(intField(message, 'candidate')), lastTerm: intField(message, 'lastTerm'), last: intField(message, 'last') };
    const visited = intListField(message, 'visited').map(Number);
    if (token.candidate === r.id) {
      if (new Set(visited).size >= r.majority && !this.round) this.startRound();
      return;
    }
    if (visited.includes(r.id)) return; // Round the ring once without its candidate: a dead one.
    if (!larger(token, this.own())) return;
    const next = this.successor();
    const forwarded = valueMap({ from: BigInt(r.id), term: r.term, candidate: BigInt(token.candidate), lastTerm: token.lastTerm, last: token.last, visited: [...visited, r.id].map(BigInt) });
    if (next !== undefined) r.peers.send(next, Type.ELECTION, forwarded);
  }

  /** Its token came back from a majority: a new term, our own vote, and a request for everyone else's. */
  startRound(): void {
    const r = this.replica;
    r.saveTerm(r.term + 1n, r.id);
    console.log(`replica ${r.id}: asks for votes in term ${r.term}`);
    this.round = { since: performance.now(), votes: new Set([r.id]) };
    if (r.majority === 1) return r.becomePrimary();
    const { lastTerm, last } = this.own();
    r.peers.broadcast(Type.VOTE_REQUEST, valueMap({ from: BigInt(r.id), term: r.term, lastTerm, last }));
  }

  /** A candidate asks for our vote (its term, if higher than ours, is ours already). */
  onVoteRequest(candidate: number, term: bigint, lastTerm: bigint, last: bigint): void {
    const r = this.replica;
    let granted = false;
    // At least as up to date as ours: a later last term, or the same one and at least as long.
    const upToDate = lastTerm > r.store.lastTerm || (lastTerm === r.store.lastTerm && last >= r.store.lastIndex);
    if (term === r.term && (r.votedFor === 0 || r.votedFor === candidate) && upToDate) {
      // On disk before the answer: a replica that crashes and comes back must not vote again.
      if (r.votedFor !== candidate) r.saveTerm(r.term, candidate);
      granted = true;
      // It gives the candidate time to win before suspecting anyone itself.
      if (r.role === 'backup') r.followedSince = performance.now();
    }
    r.peers.send(candidate, Type.VOTE, valueMap({ from: BigInt(r.id), term: r.term, granted: granted ? 1n : 0n }));
  }

  /** A vote for us, in our current term. */
  onVote(from: number, granted: boolean): void {
    const r = this.replica;
    if (r.role !== 'candidate' || !this.round || !granted) return;
    this.round.votes.add(from);
    if (this.round.votes.size >= r.majority) {
      this.round = undefined;
      r.becomePrimary();
    }
  }

  /** The new primary tells the ring. */
  announce(): void {
    const r = this.replica;
    const next = this.successor();
    if (next !== undefined) r.peers.send(next, Type.ELECTED, valueMap({ from: BigInt(r.id), term: r.term, primary: BigInt(r.id) }));
  }

  /** ELECTED of our own term: follow its primary and pass it on. */
  onElected(primary: number): void {
    const r = this.replica;
    if (primary === r.id || r.role === 'primary') return;
    const already = r.role === 'backup' && r.primary === primary;
    if (!already) r.becomeBackup(primary);
    const next = this.successor();
    if (!already && next !== undefined && next !== primary) r.peers.send(next, Type.ELECTED, valueMap({ from: BigInt(r.id), term: r.term, primary: BigInt(primary) }));
  }
}
