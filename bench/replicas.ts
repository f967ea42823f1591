// What the replication benches (06, 07) share: a request-reply link in lab 3's frames, STATUS,
// replicas as plain child processes, and a cluster of them on claimed ports that finds its
// primary. Not a bench of its own (its name has no number).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { claimPort, type PortClaim } from '../grader/harness/ports.js';
import { T, decodeValue, message, map, type Value } from '../labs/03-protocol/tests/wire.js';
import { T6, parseStatus, type Status } from '../labs/06-replication/tests/wire.js';

/** One connection that sends a request and awaits its reply, one at a time. */
export class Link {
  private buffered = Buffer.alloc(0);
  private waiting: ((frame: { type: number; value: Value }) => void)[] = [];
  private failed: ((error: Error) => void)[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 12 && this.buffered.length >= 12 + this.buffered.readUInt32BE(8)) {
        const length = this.buffered.readUInt32BE(8);
        const frame = { type: Number(this.buffered.readBigInt64BE(0)), value: decodeValue(this.buffered.subarray(12, 12 + length)) };
        this.buffered = this.buffered.subarray(12 + length);
        if (frame.type === T.MESSAGE) continue;
        this.failed.shift();
        this.waiting.shift()?.(frame);
      }
    });
    const fail = () => {
      for (const reject of this.failed.splice(0)) reject(new Error('connection lost'));
      this.waiting = [];
    };
    socket.on('error', fail);
    socket.on('close', fail);
  }

  static open(port: number): Promise<Link> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => resolve(new Link(socket)));
      socket.once('error', reject);
    });
  }

  /** The reply to one request; with `timeoutMs`, an error if none comes by then (the link is closed). */
  call(type: number, payload: Value, timeoutMs?: number): Promise<{ type: number; value: Value }> {
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.socket.destroy();
              reject(new Error('no reply'));
            }, timeoutMs);
      this.waiting.push((frame) => {
        clearTimeout(timer);
        resolve(frame);
      });
      this.failed.push((error) => {
        clearTimeout(timer);
        reject(error);
      });
      this.socket.write(message(type, payload));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export async function status(port: number): Promise<(Status & { term?: bigint }) | undefined> {
  try {
    const link = await Link.open(port);
    const reply = await link.call(T6.STATUS, map(), 500).catch(() => undefined);
    link.close();
    const parsed = reply?.type === T6.REPLICA_STATE ? parseStatus(reply.value) : undefined;
    const term = reply?.value instanceof Map ? reply.value.get('term') : undefined;
    return typeof parsed === 'object' ? { ...parsed, term: typeof term === 'bigint' ? term : undefined } : undefined;
  } catch {
    return undefined;
  }
}

export interface Proc {
  child: ChildProcess;
  args: string[];
}

export function run(js: string, args: string[]): Proc {
  return { child: spawn(process.execPath, [js, ...args], { stdio: 'ignore' }), args };
}

export async function killed(proc: Proc): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.child.once('exit', resolve));
  proc.child.kill('SIGCONT');
  proc.child.kill('SIGKILL');
  await exited;
}

export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await delay(10);
  }
}

export class Cluster {
  readonly procs: Proc[] = [];
  private constructor(
    readonly ports: number[],
    private readonly claims: PortClaim[],
    readonly dir: string,
  ) {}

  static async start(js: string, size: number, heartbeatMs: number, timeoutMs: number): Promise<Cluster> {
    const claims = await Promise.all(Array.from({ length: size }, () => claimPort('a bench replica')));
    const ports = claims.map((c) => c.port);
    const cluster = new Cluster(ports, claims, mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-replicas-')));
    const peers = ports.map((p, i) => `${i + 1}=127.0.0.1:${p}`).join(',');
    for (const [i, port] of ports.entries()) {
      cluster.procs.push(run(js, ['--id', String(i + 1), '--port', String(port), '--peers', peers, '--data', path.join(cluster.dir, `r${i + 1}`), '--heartbeat-ms', String(heartbeatMs), '--timeout-ms', String(timeoutMs)]));
    }
    await cluster.primary();
    return cluster;
  }

  /** The id of the primary, once exactly one of the highest term is primary and every running replica follows it. */
  async primary(skip?: number): Promise<number> {
    return until('a primary', async () => {
      const states = await Promise.all(this.ports.map((p, i) => (i + 1 === skip ? undefined : status(p))));
      const live = states.filter((s): s is Status & { term?: bigint } => s !== undefined);
      const primaries = live.filter((s) => s.role === 'primary');
      return primaries.length === 1 && live.every((s) => s.primary === primaries[0]!.id) ? primaries[0]!.id : undefined;
    });
  }

  async caughtUp(): Promise<void> {
    await until('every replica caught up', async () => {
      const states = await Promise.all(this.ports.map(status));
      if (states.some((s) => !s)) return undefined;
      const last = states[0]!.last;
      return states.every((s) => s!.last === last && s!.commit === last && s!.role !== 'candidate') ? true : undefined;
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.procs.map(killed));
    for (const claim of this.claims) claim.release();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.99) - 1)]!;
export const msText = (x: number) => `${x.toFixed(x < 10 ? 1 : 0)} ms`;
