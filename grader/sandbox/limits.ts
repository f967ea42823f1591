// Limits on every confined program, set with prlimit (util-linux) just before the program starts,
// so they hold for it and everything it starts. RLIMIT_NPROC counts the threads of a user: in
// bubblewrap's user namespace it counts those of the sandbox alone (Linux 5.14 and later count
// per namespace), so each program gets a small budget; without a namespace it counts every thread
// of the grading user, so the budget is the whole submission's (a node process is about 11 threads).
// The disk is bounded by the file size limit per file, a sized tmpfs for /tmp, and a watch on the
// program's folders (disk.ts) for the total.
import type { ExitStatus } from '../harness/process.js';

export interface Limits {
  /** Threads and processes (RLIMIT_NPROC); 0: not limited (the grader's own user, with no namespace, counts all its processes). */
  processes: number;
  /** Address space of each process, bytes (RLIMIT_AS). */
  memoryBytes: number;
  openFiles: number;
  /** Largest file a program may write, bytes (RLIMIT_FSIZE). */
  fileBytes: number;
  /** CPU time of each process, seconds (RLIMIT_CPU). */
  cpuSeconds: number;
  /** What all of a program's folders, and its /tmp, may hold together, bytes. */
  diskBytes: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export function defaultLimits(perNamespace: boolean): Limits {
  return {
    processes: perNamespace ? 64 : 192,
    // Address space, not memory in use: node reserves about 1 GiB of it before it runs a line.
    memoryBytes: 4 * GiB,
    openFiles: 4096,
    fileBytes: 256 * MiB,
    cpuSeconds: 120,
    diskBytes: 512 * MiB,
  };
}

export function bytes(n: number): string {
  if (n >= GiB && n % GiB === 0) return `${n / GiB} GiB`;
  return `${Math.round(n / MiB)} MiB`;
}

export function describeLimits(l: Limits): string {
  return `${l.processes ? `${l.processes} processes` : 'no process limit'}, ${bytes(l.memoryBytes)} memory, ${l.openFiles} open files, ${bytes(l.fileBytes)} per file, ${bytes(l.diskBytes)} of disk, ${l.cpuSeconds} s CPU`;
}

/** The prlimit command that sets them (soft and hard alike, but CPU: SIGXCPU first, SIGKILL 5 s later). */
export function prlimitArgs(l: Limits): string[] {
  return [
    'prlimit',
    ...(l.processes ? [`--nproc=${l.processes}`] : []),
    `--as=${l.memoryBytes}`,
    `--nofile=${l.openFiles}`,
    `--fsize=${l.fileBytes}`,
    `--cpu=${l.cpuSeconds}:${l.cpuSeconds + 5}`,
    `--core=0`,
    '--',
  ];
}

/**
 * Which limit a program ran into, from how it ended and what it printed on standard error, or
 * undefined. Said in a program's explanation, so a lost point names its cause.
 */
export function limitHit(l: Limits, status: ExitStatus | undefined, stderr: string[]): string | undefined {
  const text = stderr.join('\n');
  if (status?.signal === 'SIGXCPU' || (status?.signal === 'SIGKILL' && /CPU time limit/.test(text))) return `CPU time limit ${l.cpuSeconds} s`;
  if (status?.signal === 'SIGXFSZ' || /\bEFBIG\b|File too large/i.test(text)) return `file size limit ${bytes(l.fileBytes)}`;
  if (/heap out of memory|Array buffer allocation failed|Cannot allocate memory|ENOMEM|std::bad_alloc|MemoryError|out of memory/i.test(text)) return `memory limit ${bytes(l.memoryBytes)}`;
  if (/\bEAGAIN\b.*(spawn|fork)|(spawn|fork).*\bEAGAIN\b|Resource temporarily unavailable|Cannot fork|uv_thread_create/i.test(text)) return `process limit ${l.processes}`;
  if (/\bEMFILE\b|Too many open files/i.test(text)) return `open files limit ${l.openFiles}`;
  if (/\bENOSPC\b|No space left on device/i.test(text)) return `disk limit ${bytes(l.diskBytes)}`;
  return undefined;
}
