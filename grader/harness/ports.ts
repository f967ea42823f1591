// Ports for the programs under test and the grader's own listeners. Two rules keep a port from
// being handed to two programs at once, anywhere on the machine:
//
// 1. Ports come from outside the operating system's ephemeral range, so no outgoing connection
//    and no listen-on-port-0 can be holding one of them by chance.
// 2. Each port is claimed machine-wide before it is handed out: a claim file per port in the
//    OS temp folder, created atomically, naming the owner process (its pid and, on Linux, its
//    start time). Every grader process on the machine (vitest workers, concurrent grader runs,
//    batch grading with --jobs) sees the claims. A claim is released when the test that made it
//    ends; a claim whose owner is gone is taken over.
//
// A port is also checked free (we can bind it) when it is claimed, since programs outside the
// kit do not take claims. Readiness then checks, where the OS allows, that the listener on the
// port is the program the grader started (sockets.ts).
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { processAlive, startTime } from './procfs.js';

export interface PortRange {
  /** Inclusive bounds. */
  low: number;
  high: number;
}

/** The OS's range for ephemeral (outgoing, or port-0) ports: Linux's setting, or the documented default. */
export function ephemeralRange(): PortRange {
  if (process.platform === 'linux') {
    try {
      const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
      if (low && high && low <= high) return { low, high };
    } catch {
      // Not readable (a restricted container): Linux's default below.
    }
    return { low: 32768, high: 60999 };
  }
  // macOS, the BSDs and Windows (Vista and later) use the IANA dynamic range.
  return { low: 49152, high: 65535 };
}

/** Below this, ports belong to well-known and commonly registered services. */
const floor = 10_000;
const enough = 1_000;

/**
 * Where the grader's listening ports come from: the largest stretch outside the ephemeral range,
 * or SWITCHBOARD_PORTS=LOW-HIGH (for a machine whose firewall opens only some ports).
 */
export function listeningRange(ephemeral: PortRange = ephemeralRange()): PortRange {
  const given = /^(\d+)-(\d+)$/.exec(process.env.SWITCHBOARD_PORTS ?? '');
  if (given) {
    const [low, high] = [Number(given[1]), Number(given[2])];
    if (low >= 1 && low <= high && high <= 65535) return { low, high };
  }
  const below = { low: floor, high: ephemeral.low - 1 };
  const above = { low: Math.max(floor, ephemeral.high + 1), high: 65535 };
  const size = (r: PortRange) => r.high - r.low + 1;
  const best = size(below) >= size(above) ? below : above;
  if (size(best) >= enough) return best;
  // An unusual setting leaves almost nothing outside the ephemeral range: use the whole
  // non-privileged space; the claims and the readiness check still protect.
  return { low: 1024, high: 65535 };
}

/** The folder that holds every claim on this machine. */
export function claimsDir(): string {
  return process.env.SWITCHBOARD_PORT_CLAIMS ?? path.join(os.tmpdir(), 'switchboard-ports');
}

interface ClaimRecord {
  pid: number;
  /** The owner's start time, to tell a reused pid from the owner (Linux). */
  start?: string;
  nonce: string;
  what: string;
  at: string;
}

function ensureDir(dir: string): void {
  try {
    statSync(dir);
  } catch {
    mkdirSync(dir, { recursive: true });
    // World-writable and sticky, like /tmp: every user's graders share it, none removes another's files.
    try {
      chmodSync(dir, 0o1777);
    } catch {
      // Not ours to change (Windows, or another user made it).
    }
  }
}

function readClaim(file: string): ClaimRecord | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ClaimRecord;
  } catch {
    return undefined;
  }
}

/** A claim is live while its owner runs; a record that cannot be read counts as live (it may be ours). */
function live(record: ClaimRecord | undefined): boolean {
  if (!record) return true;
  if (!processAlive(record.pid)) return false;
  const now = startTime(record.pid);
  return record.start === undefined || now === undefined || now === record.start;
}

/** Creates `file` holding `text` only if it does not exist, in one step (a hard link of a full file). */
function createExclusive(dir: string, file: string, text: string): boolean {
  const temp = path.join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  writeFileSync(temp, text);
  try {
    linkSync(temp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
  } finally {
    unlinkSync(temp);
  }
  // A file system without hard links: create-if-absent, then write. A reader may see the file
  // empty for a moment, and an unreadable claim counts as live, so that is safe.
  try {
    writeFileSync(file, text, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

const held = new Map<number, PortClaim>();
/** Ports found in use by something that takes no claims, with when to look again. */
const busyUntil = new Map<number, number>();

export class PortClaim {
  private released = false;

  constructor(
    readonly port: number,
    private readonly file: string,
    private readonly nonce: string,
  ) {}

  /** Gives the port back. Only this claim's own file is removed, never a later owner's. */
  release(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this.port);
    if (readClaim(this.file)?.nonce === this.nonce) {
      try {
        unlinkSync(this.file);
      } catch {
        // Already gone.
      }
    }
  }
}

// A process that ends gives back whatever it still holds (a crashed worker's claims are taken
// over by the next claimer, who finds the owner gone).
process.on('exit', () => {
  for (const claim of [...held.values()]) claim.release();
});

/** Takes over `port`'s claim if its owner is gone. Serialised by a second, short-lived lock file. */
function takeOver(dir: string, port: number, record: ClaimRecord): boolean {
  const file = path.join(dir, String(port));
  const lock = `${file}.reclaim`;
  const mine = JSON.stringify({ ...record, what: 'taking over a stale claim' });
  if (!createExclusive(dir, lock, mine)) {
    // Someone else is taking it over; a lock left by a reclaimer that died long ago goes.
    try {
      if (Date.now() - statSync(lock).mtimeMs > 60_000 && !live(readClaim(lock))) unlinkSync(lock);
    } catch {
      // Gone meanwhile.
    }
    return false;
  }
  try {
    const current = readClaim(file);
    if (current && !live(current)) unlinkSync(file);
    return createExclusive(dir, file, JSON.stringify(record));
  } catch {
    return false;
  } finally {
    unlinkSync(lock);
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1' }, () => server.close(() => resolve(true)));
  });
}

/**
 * Claims a free port machine-wide, outside the ephemeral range. `what` says who it is for, in
 * the claim file, for whoever looks at the folder.
 */
export async function claimPort(what = 'a program under test'): Promise<PortClaim> {
  const dir = claimsDir();
  ensureDir(dir);
  const range = listeningRange();
  const size = range.high - range.low + 1;
  // Each process starts at its own random place, so concurrent graders rarely meet.
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = range.low + ((start + i) % size);
    if (held.has(port) || (busyUntil.get(port) ?? 0) > Date.now()) continue;
    const file = path.join(dir, String(port));
    const record: ClaimRecord = { pid: process.pid, start: startTime(process.pid), nonce: randomBytes(8).toString('hex'), what, at: new Date().toISOString() };
    let mine = createExclusive(dir, file, JSON.stringify(record));
    if (!mine && !live(readClaim(file))) mine = takeOver(dir, port, record);
    if (!mine) continue;
    const claim = new PortClaim(port, file, record.nonce);
    held.set(port, claim);
    if (await canBind(port)) return claim;
    // Something outside the kit listens here: leave the port alone for a while.
    claim.release();
    busyUntil.set(port, Date.now() + 60_000);
  }
  throw new Error(`no free port in ${range.low}–${range.high}: every one is claimed or in use (claims are in ${dir})`);
}

/** Marks a port as in use by something else (a program's bind failed there): it is skipped for a while. */
export function markBusy(port: number): void {
  busyUntil.set(port, Date.now() + 60_000);
}

/**
 * Listens on a claimed port with `server` (on 127.0.0.1), trying another port if the bind fails.
 * The claim is returned, to be released when the listener closes.
 */
export async function listenClaimed(server: net.Server, what: string, host = '127.0.0.1'): Promise<PortClaim> {
  for (let attempt = 1; ; attempt++) {
    const claim = await claimPort(what);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: claim.port, host }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return claim;
    } catch (error) {
      claim.release();
      markBusy(claim.port);
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw error;
    }
  }
}

/**
 * A claimed port that nothing listens on, given back when the current test ends (or when the
 * process exits, outside a test). Phase tests use `h.claimPort()`; this is the same for code
 * that has no harness at hand.
 */
export async function freePort(): Promise<number> {
  const claim = await claimPort('a port nothing listens on');
  const { onTestFinished } = await import('vitest');
  try {
    onTestFinished(() => claim.release());
  } catch {
    // Not inside a test: the claim is given back when this process exits.
  }
  return claim.port;
}
