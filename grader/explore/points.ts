// Named points of a schedule (labs 6 and 7): moments defined by what the proxies between replicas
// carry, not by the clock. "After replica 2 sends APPENDED covering record 5, before the primary
// reads it" is the moment its frame reaches proxy 2→primary: a point's action runs right there,
// synchronously, before the proxy passes the chunk on, so that a kill -9 it sends lands before
// anything the frame causes. "Just after a reconnect" is the moment the proxy accepts a connection.
//
// The cluster makes its Points before the first replica starts, so that every connection is read
// from its first byte. Each connection through a proxy is cut into frames (lab 3's header: type,
// flags, length), and a frame's payload is decoded with the lab's own grader codec only while some
// point waits: a cluster with no point pays for the framing alone. A point fires once; what it
// waited for and when it fired go into the cluster's history, so a failure's excerpt shows it.
// A point acts on the chunk that completes its frame: what came in the same chunk after the frame
// is held or lost with it.
import type { Direction, ProxyObserver } from '../harness/proxy.js';
import { GradeFailure, scaled, seconds } from '../harness/wait.js';
import { typeName6 } from '../../labs/06-replication/tests/wire.js';
import { decodeValue, headerBytes, maxPayload, type ValueMap } from '../../labs/03-protocol/tests/wire.js';
import type { Cluster } from '../replication/cluster.js';

/** A message one replica sent another, as a point sees it. */
export interface Seen {
  from: number;
  to: number;
  type: number;
  value: ValueMap;
}

interface Point {
  what: string;
  match: (m: Seen) => boolean;
  action: (m: Seen) => void;
  fired?: Seen;
  wake?: () => void;
}

interface Accept {
  from: number;
  to: number;
  what: string;
  action: () => void;
  /** The action ran (at the first accept). */
  acted: boolean;
  /** A connection accepted since reached the target. */
  fired: boolean;
  wake?: () => void;
}

export class Points {
  private readonly points = new Set<Point>();
  private readonly accepts = new Set<Accept>();

  constructor(private readonly cluster: Pick<Cluster, 'members' | 'history' | 'checkAlive'>) {
    for (const from of cluster.members) {
      for (const [to, proxy] of from.proxies) {
        const inner = proxy.observer;
        const framers = new Map<number, Framer>();
        const observer: ProxyObserver = {
          accepted: (link, client) => {
            inner?.accepted(link, client);
            this.accepted(from.id, to);
          },
          connected: (link) => {
            inner?.connected?.(link);
            this.connected(from.id, to);
          },
          arrived: (link, direction: Direction, chunk) => {
            inner?.arrived(link, direction, chunk);
            if (direction !== 'forward') return;
            let framer = framers.get(link);
            if (!framer) framers.set(link, (framer = new Framer()));
            framer.push(chunk, (type, payload) => this.seen(from.id, to, type, payload));
          },
          delivered: (link, direction, chunk) => inner?.delivered(link, direction, chunk),
          dropped: (link, direction, chunk, why) => inner?.dropped(link, direction, chunk, why),
          fault: (what, text) => inner?.fault(what, text),
        };
        proxy.observer = observer;
      }
    }
  }

  /**
   * Runs `action` the first time a message that `match` accepts reaches a proxy, before the proxy
   * passes it on. Returns what waits for it.
   */
  on(what: string, match: (m: Seen) => boolean, action: (m: Seen) => void = () => undefined): { reached: (timeoutMs: number) => Promise<Seen>; fired: () => Seen | undefined; cancel: () => void } {
    const point: Point = { what, match, action };
    this.points.add(point);
    return {
      fired: () => point.fired,
      // A point not reached by the end of its step is not waited for any longer.
      cancel: () => void this.points.delete(point),
      reached: async (timeoutMs: number) => {
        await this.until(what, timeoutMs, () => point.fired !== undefined, (wake) => (point.wake = wake), () => this.points.delete(point));
        return point.fired!;
      },
    };
  }

  /**
   * Runs `action` when proxy from→to next accepts a connection (replica `from` connecting, again).
   * Returns what waits until such a connection reached replica `to` too: only then has replica
   * `from` surely seen it open (one the proxy accepted while `to` was down is reset, and the
   * connecting replica may take it for a refused attempt).
   */
  onAccept(from: number, to: number, what: string, action: () => void): { reached: (timeoutMs: number) => Promise<void> } {
    const accept: Accept = { from, to, what, action, acted: false, fired: false };
    this.accepts.add(accept);
    return {
      reached: (timeoutMs: number) => this.until(what, timeoutMs, () => accept.fired, (wake) => (accept.wake = wake), () => this.accepts.delete(accept)),
    };
  }

  /** Waits until `fired()`, woken by the callback `setWake` installs (and every 200 ms, to check the replicas). */
  private async until(what: string, timeoutMs: number, fired: () => boolean, setWake: (wake: () => void) => void, forget: () => void): Promise<void> {
    const wait = scaled(timeoutMs);
    const end = Date.now() + wait;
    while (!fired()) {
      this.cluster.checkAlive();
      const left = end - Date.now();
      if (left <= 0) {
        forget();
        throw new GradeFailure(`the grader waited ${seconds(wait)} for the point "${what}", and the replicas never got there`);
      }
      await new Promise<void>((resolve) => {
        setWake(resolve);
        setTimeout(resolve, Math.min(left, 200));
      });
    }
  }

  private accepted(from: number, to: number): void {
    for (const a of this.accepts) {
      if (a.from !== from || a.to !== to || a.acted) continue;
      a.acted = true;
      a.action();
    }
  }

  private connected(from: number, to: number): void {
    for (const a of [...this.accepts]) {
      if (a.from !== from || a.to !== to || !a.acted) continue;
      this.accepts.delete(a);
      this.cluster.history.note(`point: ${a.what}`);
      a.fired = true;
      a.wake?.();
    }
  }

  private seen(from: number, to: number, type: number, payload: Buffer): void {
    if (this.points.size === 0) return;
    let value;
    try {
      value = decodeValue(payload);
    } catch {
      return;
    }
    if (!(value instanceof Map)) return;
    const seen: Seen = { from, to, type, value };
    for (const point of [...this.points]) {
      if (!point.match(seen)) continue;
      this.points.delete(point);
      point.fired = seen;
      this.cluster.history.note(`point: ${point.what} (${typeName6(type)} from replica ${from} to replica ${to})`);
      point.action(seen);
      point.wake?.();
    }
  }
}

/** Cuts one direction of one connection into frames; gives up on a stream whose framing is lost. */
class Framer {
  private buffered: Buffer = Buffer.alloc(0);
  private lost = false;

  push(chunk: Buffer, frame: (type: number, payload: Buffer) => void): void {
    if (this.lost) return;
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= headerBytes) {
      const length = this.buffered.readUInt32BE(8);
      if (length > maxPayload) {
        this.lost = true;
        this.buffered = Buffer.alloc(0);
        return;
      }
      if (this.buffered.length < headerBytes + length) return;
      const type = Number(this.buffered.readBigInt64BE(0));
      const payload = this.buffered.subarray(headerBytes, headerBytes + length);
      this.buffered = this.buffered.subarray(headerBytes + length);
      frame(type, payload);
    }
  }
}

/** The int at `key` of a decoded payload, if it is one. */
export function intAt(value: ValueMap, key: string): bigint | undefined {
  const v = value.get(key);
  return typeof v === 'bigint' ? v : undefined;
}
