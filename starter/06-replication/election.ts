// Failure detection and election (spec/06-replication.md, sections 6 and 7). Phase 6.1 is yours:
// every method of Election is a TODO, with its contract above it.
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
import { NotImplemented } from './todo.js';
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

  /**
   * Every H ms: say we are alive, suspect a silent primary, send our token again.
   * - The primary: replication.heartbeat() (its APPENDs are its heartbeats).
   * - Anyone else: HEARTBEAT {from, primary} to every other replica (peers.broadcast).
   * - A candidate: its own token again if it sent it 2·H ms ago or more (tokenSentAt).
   * - A backup whose primary is silent (primarySilent()): become a candidate. The timer may have
   *   fired while the primary's APPENDs wait unread in our socket (this process was the slow one):
   *   check again in a setImmediate callback, which runs after pending input is read (section 6).
   */
  tick(): void {
    throw new NotImplemented('6.1', 'Election.tick in election.ts');
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

  /**
   * The next replica after this one on the ring (ascending ids, the largest followed by the
   * smallest) that it believes alive (replica.alive): dead ones are skipped. Undefined if none.
   */
  successor(): number | undefined {
    throw new NotImplemented('6.1', 'Election.successor in election.ts');
  }

  /**
   * Sends ELECTION {from, candidate: our id, last: our last index, visited: [our id]} to our
   * successor (nothing if there is none, or while replica.settled is false: tick() sends it again),
   * and notes when (tokenSentAt). A cluster of one is its own majority: it becomes the primary at once.
   */
  sendOwnToken(): void {
    throw new NotImplemented('6.1', 'Election.sendOwnToken in election.ts');
  }

  /**
   * A token arrived (section 7). The primary drops it, and so does a replica whose view is not
   * settled (replica.settled: the set of replicas it believes alive grew less than T ms ago); a
   * backup drops it if its primary is alive (primarySilent()), and otherwise becomes a candidate first. Then, as a candidate: our own token back, having
   * visited a majority, makes us the primary (replica.becomePrimary); a token that has visited us
   * already is dropped; a larger one (see larger()) goes on to our successor with our id added to
   * `visited`; a smaller one is dropped.
   */
  onElection(message: ValueMap): void {
    throw new NotImplemented('6.1', 'Election.onElection in election.ts');
  }

  /** The new primary tells the ring: ELECTED {from, primary: our id} to our successor. */
  announce(): void {
    throw new NotImplemented('6.1', 'Election.announce in election.ts');
  }

  /**
   * ELECTED {primary} arrived: our own, back round the ring, ends here. Otherwise become a backup
   * of `primary` and pass the message on to our successor, unless that successor is `primary` or
   * we already followed it before this message.
   */
  onElected(primary: number): void {
    throw new NotImplemented('6.1', 'Election.onElected in election.ts');
  }
}
