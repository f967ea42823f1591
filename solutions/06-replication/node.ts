// One replica's state and its roles (spec/06-replication.md, section 4): what every part of the
// replica shares, the three roles and the moves between them, and the dispatch of the messages
// other replicas send. The work is elsewhere: election.ts (failure detection and the ring) and
// replication.ts (the log, from the primary to the backups).
//
// Time is the monotonic clock (performance.now()), never the wall clock: a clock that is set back
// must not make a live replica look dead.
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { decodeValue } from './decode.js';
import { Election } from './election.js';
import { ProtocolError, Type, asMap, intField } from './messages.js';
import type { Outbox } from './outbox.js';
import type { Address, Peers } from './peers.js';
import { Replication } from './replication.js';
import { Service } from './service.js';
import type { Store } from './store.js';
import { DecodeError, valueMap, type ValueMap } from './values.js';

export type Role = 'primary' | 'backup' | 'candidate';

export interface Config {
  id: number;
  /** Every other replica, by id. */
  peers: Map<number, Address>;
  heartbeatMs: number;
  timeoutMs: number;
}

export class Replica {
  role: Role = 'backup';
  /** The primary this replica follows: its own id as the primary, 0 when it knows none. */
  primary = 0;
  commit = 0n;
  /** When each other replica was last heard from (any message). */
  readonly heard = new Map<number, number>();
  /** When each other replica last sent an APPEND: a primary's heartbeat, the only proof of one. */
  readonly appended = new Map<number, number>();
  /** When this replica started following `primary` (or stopped knowing one). */
  followedSince = performance.now();
  /** When the set of replicas it believes alive last grew (one heard that was not alive). */
  viewGrewAt = performance.now();
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

  /**
   * The set of replicas it believes alive has not grown for T ms (section 7). Until then a replica
   * that came up a moment ago may be alive to some replicas and not yet to others, and rings seen
   * differently could elect two primaries.
   */
  get settled(): boolean {
    return performance.now() - this.viewGrewAt >= this.config.timeoutMs;
  }

  /** Heard from `id` within the last T ms. */
  alive(id: number): boolean {
    const at = this.heard.get(id);
    return at !== undefined && performance.now() - at < this.config.timeoutMs;
  }

  /** The replica's answer to STATUS (section 10). */
  status(): ValueMap {
    const alive = [...this.config.peers.keys()].filter((id) => this.alive(id)).sort((a, b) => a - b);
    return valueMap({
      id: BigInt(this.id),
      role: this.role,
      primary: BigInt(this.primary),
      last: this.store.lastIndex,
      commit: this.commit,
      alive: alive.map(BigInt),
    });
  }

  /** The primary this replica follows, for a not-primary error; undefined if it knows none. */
  primaryAddress(): { id: number; address: string } | undefined {
    const address = this.config.peers.get(this.primary);
    return this.role === 'backup' && address ? { id: this.primary, address: `${address.host}:${address.port}` } : undefined;
  }

  // ---- Roles (section 4).

  becomeCandidate(): void {
    console.log(`replica ${this.id}: no primary; candidate, with the log at ${this.store.lastIndex}`);
    this.role = 'candidate';
    this.primary = 0;
    this.election.sendOwnToken();
  }

  becomePrimary(): void {
    console.log(`replica ${this.id}: primary, with the log at ${this.store.lastIndex}`);
    this.role = 'primary';
    this.primary = this.id;
    this.replication.becomePrimary();
    this.election.announce();
  }

  becomeBackup(primary: number): void {
    if (this.role === 'primary' && primary !== this.id) {
      // Its clients must find the new primary; what it held for them was never committed here.
      for (const socket of this.clients) socket.destroy();
    }
    if (this.role !== 'backup' || this.primary !== primary) console.log(`replica ${this.id}: backup of replica ${primary}`);
    this.role = 'backup';
    this.primary = primary;
    this.followedSince = performance.now();
  }

  /** The state, rebuilt from the log after a truncation (section 5.3). A backup has no sessions. */
  rebuild(): void {
    this.service = new Service(this.store);
    this.store.replay((type, payload) => this.service.apply(type, payload));
  }

  // ---- Messages from other replicas (section 3.2).

  receive(type: bigint, bytes: Buffer): void {
    let message: ValueMap;
    let from: number;
    try {
      message = asMap(decodeValue(bytes));
      from = Number(intField(message, 'from'));
    } catch (error) {
      if (error instanceof DecodeError || error instanceof ProtocolError) return void console.error(`replica ${this.id}: a replica message of type ${type} is not one: ${error.message}`);
      throw error;
    }
    if (!this.config.peers.has(from)) return;
    if (!this.alive(from)) this.viewGrewAt = performance.now();
    this.heard.set(from, performance.now());
    if (type === Type.APPEND) this.appended.set(from, performance.now());
    try {
      switch (type) {
        case Type.APPEND:
          if (this.role === 'candidate' || (this.role === 'backup' && this.primary === 0)) this.becomeBackup(from);
          if (this.role === 'backup' && this.primary === from) this.replication.onAppend(from, message);
          return;
        case Type.APPENDED:
          if (this.role === 'primary') this.replication.onAppended(from, intField(message, 'index'));
          return;
        case Type.MISMATCH:
          if (this.role === 'primary') this.replication.onMismatch(from, intField(message, 'prev'), intField(message, 'last'));
          return;
        case Type.ELECTION:
          this.election.onElection(message);
          return;
        case Type.ELECTED:
          this.election.onElected(Number(intField(message, 'primary')));
          return;
        default:
          // HEARTBEAT: hearing it was the point.
          return;
      }
    } catch (error) {
      if (error instanceof ProtocolError) return void console.error(`replica ${this.id}: ${error.message} in a message of type ${type} from replica ${from}`);
      throw error;
    }
  }
}
