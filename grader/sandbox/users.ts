// The grading users, made when the grader runs as root (Gradescope, CI containers): one per job
// slot of a batch, so that two submissions graded at once never share a user, a process budget
// (RLIMIT_NPROC counts per user) or each other's files. Gradescope grades one submission per
// container and uses the first. setup.sh makes it when the image is built; the grader makes any
// that is missing, so a package tried locally behaves the same.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processAlive } from '../harness/procfs.js';
import type { GradingUser } from './plan.js';

export const userPrefix = 'switchboard-grade-';

function lookUp(name: string): GradingUser | undefined {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** The grading user of job slot `slot` (1, 2, ...), made if missing. Root only. */
export function gradingUser(slot: number): GradingUser {
  const name = `${userPrefix}${slot}`;
  const found = lookUp(name);
  if (found) return found;
  const made = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name], { encoding: 'utf8' });
  const user = lookUp(name);
  if (!user) throw new Error(`could not make the grading user ${name}: ${(made.stderr || made.error?.message || 'useradd failed').trim()}`);
  if (user.uid === 0 || user.gid === 0) throw new Error(`the grading user ${name} has uid ${user.uid}, gid ${user.gid}: it must not be root`);
  return user;
}

/** The pids of every process run by `uid`, from /proc. */
export function processesOf(uid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const real = /^Uid:\s+(\d+)/m.exec(status)?.[1];
      if (real !== undefined && Number(real) === uid) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/**
 * Ends every process of a grading user (one a program left behind in a session of its own, say)
 * and waits until there is none, so that a submission's results are read only once nothing of
 * it runs. The user is the grader's alone, so each of its processes is the submission's.
 */
export async function endAllOf(user: GradingUser, deadlineMs = 10_000): Promise<number> {
  const end = Date.now() + deadlineMs;
  let killed = 0;
  for (;;) {
    const pids = processesOf(user.uid);
    if (pids.length === 0) return killed;
    if (Date.now() > end) throw new Error(`processes of ${user.name} still run after ${deadlineMs / 1000} s: ${pids.join(', ')}`);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        // Already gone.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A job slot no other grader on this machine is using (as root), so that two batches at once
 * never share a grading user: each kills every process of its user when a submission is done.
 * A slot is a file in the OS temp folder naming the grader's pid; a dead grader's slot is free.
 */
export function claimSlot(): { slot: number; release: () => void } {
  const dir = path.join(os.tmpdir(), 'switchboard-grading-users');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (let slot = 1; slot <= 256; slot++) {
    const file = path.join(dir, String(slot));
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
        return { slot, release: () => rmSync(file, { force: true }) };
      } catch {
        const holder = Number.parseInt(readText(file), 10);
        if (holder > 0 && processAlive(holder)) break;
        rmSync(file, { force: true });
      }
    }
  }
  throw new Error('no free grading user: 256 graders at once on this machine');
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

