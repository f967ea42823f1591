// What the operating system can tell the grader about processes and sockets. On Linux, /proc
// answers "which process holds this socket?", so the grader can prove that the program listening
// on a port, or connecting to a fake server, is the one it started. Elsewhere these answers are
// "unknown", and the port claims (ports.ts) are what protects.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const linux = process.platform === 'linux';

/** True while a process with this pid exists (a zombie counts; EPERM means it exists). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function statFields(pid: number): string[] | undefined {
  try {
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** A process's start time in clock ticks since boot (Linux), to tell a reused pid from the original. */
export function startTime(pid: number): string | undefined {
  if (!linux) return undefined;
  // Field 22 of /proc/PID/stat; fields are counted from 3 after the command name.
  return statFields(pid)?.[19];
}

/** Whether the process is a zombie: dead, waiting for its parent to collect its exit status. */
export function isZombie(pid: number): boolean {
  return statFields(pid)?.[0] === 'Z';
}

/** The pids of every process in a process group (Linux), or undefined where /proc is missing. */
export function groupPids(pgid: number): number[] | undefined {
  if (!linux) return undefined;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    if (statFields(Number(entry))?.[2] === String(pgid)) pids.push(Number(entry));
  }
  return pids;
}

/** The inodes of the sockets these processes hold open; undefined if any fd table is unreadable. */
function socketInodes(pids: number[]): Set<string> | undefined {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch (error) {
      // Gone meanwhile is fine; not allowed to look is "cannot tell".
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      return undefined;
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodes.add(match[1]!);
      } catch {
        // Closed while we looked.
      }
    }
  }
  return inodes;
}

export interface TcpRow {
  localPort: number;
  remotePort: number;
  /** The kernel's state code: '0A' is LISTEN, '01' ESTABLISHED. */
  state: string;
  /** Bytes waiting to be sent, and received but not yet read by the program. */
  sendQueue: number;
  receiveQueue: number;
  /** '0' for a socket no process holds any more (TIME_WAIT and the like). */
  inode: string;
}

/**
 * The TCP sockets of this network namespace that `keep` selects (Linux), or undefined elsewhere.
 * IPv4's table is read first, IPv6's only when IPv4's holds fewer than `wanted`: each read makes the
 * kernel walk every socket, TIME_WAIT ones included, and a grader's many short connections leave
 * thousands (reading one table took 50 ms on a busy 2-core machine).
 */
export function tcpSockets(keep: (row: TcpRow) => boolean, wanted = 1): TcpRow[] | undefined {
  if (!linux) return undefined;
  let readAny = false;
  const rows: TcpRow[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
      readAny = true;
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const [tx, rx] = f[4]!.split(':');
      const row = {
        localPort: parseInt(f[1]!.split(':').pop()!, 16),
        remotePort: parseInt(f[2]!.split(':').pop()!, 16),
        state: f[3]!,
        sendQueue: parseInt(tx!, 16),
        receiveQueue: parseInt(rx!, 16),
        inode: f[9]!,
      };
      if (keep(row)) rows.push(row);
    }
    if (rows.length >= wanted) return rows;
  }
  return readAny ? rows : undefined;
}

/**
 * Bytes the operating system holds on `socket`'s connection, both ways (each end's send and
 * receive queues), while nothing moves on it: two reads of the kernel's table (Linux:
 * /proc/net/tcp) must agree. The table is no snapshot, its rows are written one after another, so
 * bytes that move between the two ends' rows would be counted in neither. Undefined while bytes
 * move, and where the OS does not say.
 */
export function heldByOsAtRest(socket: { localPort?: number; remotePort?: number }): number | undefined {
  const [ours, theirs] = [socket.localPort, socket.remotePort];
  const read = () => {
    const ends = tcpSockets((r) => r.state === '01' && ((r.localPort === ours && r.remotePort === theirs) || (r.localPort === theirs && r.remotePort === ours)), 2);
    return ends && ends.length === 2 ? ends.map((end) => [end.sendQueue, end.receiveQueue]).sort().flat() : undefined;
  };
  const first = read();
  const second = read();
  if (!first || !second || first.join() !== second.join()) return undefined;
  return first.reduce((sum, n) => sum + n, 0);
}

export type Ownership = 'ours' | 'theirs' | 'unknown';

function owner(inodes: string[], pgid: number): Ownership {
  const live = inodes.filter((inode) => inode !== '0');
  if (live.length === 0) return 'unknown';
  const pids = groupPids(pgid);
  if (!pids) return 'unknown';
  const held = socketInodes(pids);
  if (!held) return 'unknown';
  return live.some((inode) => held.has(inode)) ? 'ours' : 'theirs';
}

/** Whether the socket listening on `port` belongs to process group `pgid`. */
export function listenerOwner(port: number, pgid: number): Ownership {
  const rows = tcpSockets((r) => r.state === '0A' && r.localPort === port);
  if (!rows) return 'unknown';
  return owner(rows.map((r) => r.inode), pgid);
}

/**
 * Whether the connection that reached our listener on `ourPort` from `theirPort` was made by
 * process group `pgid`: the connecting side's socket is the one whose local port is `theirPort`.
 */
export function connectionOwner(ourPort: number, theirPort: number, pgid: number): Ownership {
  const rows = tcpSockets((r) => r.localPort === theirPort && r.remotePort === ourPort && r.state !== '0A');
  if (!rows) return 'unknown';
  return owner(rows.map((r) => r.inode), pgid);
}
