// One replica's state and its roles (spec/07-consensus.md, section 5): what every part of the
// replica shares, the three roles and the moves between them, terms, and the dispatch of the
// messages other replicas send. The work is elsewhere: election.ts (failure detection, the ring's
// tokens and the votes) and replication.ts (the log, from the primary to the backups).
//
// Terms are what lab 6 lacked. Every replica message carries the sender's term; a replica that
// sees a higher one adopts it before anything else, and a primary that does so steps down. A
// message from a lower term is ignored: its sender is out of date, and learns so from the next
// HEARTBEAT it gets. The one exception is a token (ELECTION): it asks a question, so its term is
// never adopted (section 9, why the ring's tokens are a pre-vote).
//
// Time is the monotonic clock (performance.now()), never the wall clock: a clock that is set back
// must not make a live replica look dead.
//
// Given: the roles, the dispatch of replica messages with its checks of each message's term (the
// table of spec section 5 in code), rebuild. Yours: observeTerm (phase 7.1), maybeCompact (7.4).
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { decodeValue } from './decode.js';
import { Election } from './election.js';
import { ProtocolError, Type, asMap, intField, intListField } from './messages.js';
import type { Outbox } from './outbox.js';
import type { Address, Peers } from './peers.js';
import { RecordType } from './records.js';
import { Replication } from './replication.js';
import { Service } from './service.js';
import type { Store } from './store.js';
import { NotImplemented, unlessTodo } from './todo.js';
import { DecodeError, valueMap, type ValueMap } from './values.js';

export type Role = 'primary' | 'backup' | 'candidate';

export interface Config {
  id: number;
  /** Every other replica, by id. */
  peers: Map<number, Address>;
  heartbeatMs: number;
  timeoutMs: number;
  /** Compact once this many committed records follow the snapshot; 0: never. */
  compactAfter: number;
}

export class Replica {
  role: Role = 'backup';
  /** The primary this replica follows in its term: its own id as the primary, 0 when it knows none. */
  primary = 0;
  /** The current term and the replica voted for in it (0: none); both saved in the `term` file. */
  term = 0n;
  votedFor = 0;
  commit = 0n;
  /** When each other replica was last heard from (any message). */
  readonly heard = new Map<number, number>();
  /** Whom each other replica said it hears, in its last HEARTBEAT. */
  readonly hears = new Map<number, Set<number>>();
  /** When the primary it follows last sent an APPEND (or a snapshot) of this term; or when it began to follow. */
  followedSince = performance.now();
  /** When this replica became the primary. */
  primarySince = 0;
  /** The client connections, closed when a primary steps down. */
  readonly clients = new Set<net.Socket>();
  readonly election: Election;
  readonly replication: Replication;
  /** Set by the entry file once everything exists. */
  peers!: Peers;
  outbox!: Outbox;

  constructor(
    readonly config: Config,
    readonly store: Store,
    public service: Service,
  ) {
    this.election = new Election(this);
    this.replication = new Replication(this);
    const saved = store.loadTerm();
    this.term = saved.term;
    this.votedFor = saved.votedFor;
  }

  get id(): number {
    return this.config.id;
  }

  /** N, the number of replicas. */
  get size(): number {
    return this.config.peers.size + 1;
  }

  get majority(): number {
    return Math.floor(this.size / 2) + 1;
  }

  /** Heard from `id` within the last T ms. */
  alive(id: number): boolean {
    const at = this.heard.get(id);
    return at !== undefined && performance.now() - at < this.config.timeoutMs;
  }

  /** The ids of the other replicas heard from within T, ascending. */
  aliveIds(): number[] {
    return [...this.config.peers.keys()].filter((id) => this.alive(id)).sort((a, b) => a - b);
  }

  /** The replica's answer to STATUS (section 11). */
  status(): ValueMap {
    return valueMap({
      id: BigInt(this.id),
      role: this.role,
      primary: BigInt(this.primary),
      term: this.term,
      last: this.store.lastIndex,
      commit: this.commit,
      alive: this.aliveIds().map(BigInt),
    });
  }

  /** The primary this replica follows, for a not-primary error; undefined if it knows none. */
  primaryAddress(): { id: number; address: string } | undefined {
    const address = this.config.peers.get(this.primary);
    return this.role === 'backup' && address ? { id: this.primary, address: `${address.host}:${address.port}` } : undefined;
  }

  // ---- Terms (section 3).

  /** Saves the term and vote before anything that depends on them leaves this replica. */
  saveTerm(term: bigint, votedFor: number): void {
    this.store.saveTerm(term, votedFor);
    this.term = term;
    this.votedFor = votedFor;
  }

  /**
   * A message carried `term` (section 3). A term no higher than ours changes nothing. A higher one
   * is taken, before the message is handled:
   * - our term becomes it, with no vote cast in it: saveTerm(term, 0) (saved before anything else);
   * - votes we were asking for in the older term count for nothing: election.newTerm();
   * - a primary steps down and a backup forgets its primary: becomeBackup(0) (which closes a
   *   primary's clients); a candidate stays a candidate.
   */
  observeTerm(term: bigint): void {
    throw new NotImplemented('7.1', 'Replica.observeTerm in node.ts');
  }

  // ---- Roles (section 5).

  becomeCandidate(): void {
    console.log(`replica ${this.id}: no primary; candidate in term ${this.term}, with the log at ${this.store.lastIndex}`);
    this.role = 'candidate';
    this.primary = 0;
    this.election.sendOwnToken();
  }

  /** A majority granted its votes in this term. */
  becomePrimary(): void {
    console.log(`replica ${this.id}: primary of term ${this.term}, with the log at ${this.store.lastIndex}`);
    this.role = 'primary';
    this.primary = this.id;
    this.primarySince = performance.now();
    this.store.term = this.term;
    // next[b] is our last index + 1: the first APPEND carries TERM_STARTED.
    this.replication.becomePrimary();
    // Its first record, in its own term: once that one is committed, so is every record before it.
    this.store.append(RecordType.TERM_STARTED, valueMap({ primary: BigInt(this.id) }));
    this.outbox.schedule();
    this.election.announce();
  }

  becomeBackup(primary: number): void {
    if (this.role === 'primary' && primary !== this.id) {
      // Its clients must find the new primary; what it held for them was never committed here.
      for (const socket of this.clients) socket.destroy();
    }
    if (this.role !== 'backup' || this.primary !== primary) console.log(`replica ${this.id}: backup of ${primary ? `replica ${primary}` : 'no one'} in term ${this.term}`);
    this.role = 'backup';
    this.primary = primary;
    this.followedSince = performance.now();
  }

  /** The state, rebuilt from the snapshot and the log after a truncation or an install. A backup has no sessions. */
  rebuild(): void {
    this.service = new Service(this.store);
    if (this.store.snapshot) this.service.apply(RecordType.SNAPSHOT, this.store.snapshot);
    this.store.replay((type, payload) => this.service.apply(type, payload));
  }

  /**
   * Compacts the committed prefix once it is long enough (section 10): with --compact-after C > 0
   * (config.compactAfter) and commit − store.base ≥ C. The snapshot is the state as of the commit
   * index, not of the last record: build it in a fresh Service from the store's snapshot (apply it
   * as a SNAPSHOT record) and the records up to the commit index (store.replay(apply, upTo)), then
   * store.compact(that service's snapshot(), commit).
   */
  maybeCompact(): void {
    if (this.config.compactAfter <= 0) return;
    throw new NotImplemented('7.4', 'Replica.maybeCompact in node.ts');
  }

  // ---- Messages from other replicas (section 4).

  receive(type: bigint, bytes: Buffer): void {
    let message: ValueMap;
    let from: number;
    let term: bigint;
    try {
      message = asMap(decodeValue(bytes));
      from = Number(intField(message, 'from'));
      term = intField(message, 'term');
    } catch (error) {
      if (error instanceof DecodeError || error instanceof ProtocolError) return void console.error(`replica ${this.id}: a replica message of type ${type} is not one: ${error.message}`);
      throw error;
    }
    if (!this.config.peers.has(from)) return;
    this.heard.set(from, performance.now());
    try {
      // A token is a question: its term is not adopted (section 9).
      if (type !== Type.ELECTION) this.observeTerm(term);
      switch (type) {
        case Type.HEARTBEAT:
          this.hears.set(from, new Set(intListField(message, 'alive').map(Number)));
          return;
        case Type.APPEND:
        case Type.INSTALL_SNAPSHOT:
          if (term < this.term || this.role === 'primary') return;
          if (this.role === 'candidate' || this.primary !== from) this.becomeBackup(from);
          this.followedSince = performance.now();
          if (type === Type.APPEND) this.replication.onAppend(from, message);
          else unlessTodo(() => this.replication.onSnapshot(from, asMap(message.get('snapshot') ?? 0n)), () => undefined);
          return;
        case Type.APPENDED:
          if (this.role === 'primary' && term === this.term) this.replication.onAppended(from, intField(message, 'index'));
          return;
        case Type.MISMATCH:
          if (this.role === 'primary' && term === this.term) this.replication.onMismatch(from, intField(message, 'prev'), intField(message, 'last'));
          return;
        case Type.ELECTION:
          this.election.onElection(message);
          return;
        case Type.ELECTED:
          if (term === this.term) this.election.onElected(Number(intField(message, 'primary')));
          return;
        case Type.VOTE_REQUEST:
          this.election.onVoteRequest(from, term, intField(message, 'lastTerm'), intField(message, 'last'));
          return;
        case Type.VOTE:
          if (term === this.term) this.election.onVote(from, intField(message, 'granted') === 1n);
          return;
        default:
          return;
      }
    } catch (error) {
      if (error instanceof ProtocolError) return void console.error(`replica ${this.id}: ${error.message} in a message of type ${type} from replica ${from}`);
      throw error;
    }
  }
}
