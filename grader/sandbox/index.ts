// grader/sandbox: how the code of others is graded confined. `makePlan` decides, once per
// submission, what this machine allows (plan.ts); the harness launches each program through
// `confineCommand` (launch.ts) with the limits of limits.ts; `graderNetns` puts the grader and
// its programs in a network namespace with loopback only; `protectionsOf` says what was in
// force, for the results. Linux only: elsewhere grading is not confined, and says so.
import { chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { defaultLimits, describeLimits } from './limits.js';
import { unconfined, type GradingUser, type Protections, type SandboxPlan } from './plan.js';
import { gradingUser } from './users.js';

export { confineCommand, confinedEnv, exitThroughBwrap, type Confinement } from './launch.js';
export { limitHit, type Limits } from './limits.js';
export { planFromEnv, unconfined, type Protections, type SandboxPlan } from './plan.js';
export { watchDisk } from './disk.js';
export { claimSlot, endAllOf } from './users.js';

const linux = process.platform === 'linux';
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function works(command: string[], user?: GradingUser): boolean {
  if (!linux) return false;
  const [file, ...args] = command as [string, ...string[]];
  const run = spawnSync(file, args, { stdio: 'ignore', timeout: 10_000, ...(user && { uid: user.uid, gid: user.gid }) });
  return run.status === 0;
}

/** Whether bubblewrap can make the program's sandbox here, as `user` (or as the grader). */
export function bwrapWorks(user?: GradingUser): boolean {
  if (process.env.SWITCHBOARD_NO_BWRAP === '1') return false;
  return works(['bwrap', '--unshare-user', '--unshare-pid', '--unshare-ipc', '--disable-userns', '--die-with-parent', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', 'true'], user);
}

/**
 * The command prefix that puts a grader (the CLI, its test workers and the programs they start)
 * in a network namespace with loopback only, and a pid namespace of its own: the programs see no
 * process but the submission's and its grader's, and every one of them ends with the grader, one
 * in a session of its own too. The grader keeps the whole file system; its process-group records
 * (`groups`, which hold this namespace's pids) are private to it. Undefined where none can be made.
 */
export function graderNetns(groups: string): string[] | undefined {
  if (process.env.SWITCHBOARD_NO_BWRAP === '1' || !linux) return undefined;
  mkdirSync(groups, { recursive: true });
  const prefix = ['bwrap', '--dev-bind', '/', '/', ...(isRoot ? [] : ['--unshare-user']), '--unshare-net', '--unshare-pid', '--proc', '/proc', '--tmpfs', groups, '--die-with-parent', '--'];
  return works([...prefix, 'true']) ? prefix : undefined;
}

export interface PlanOptions {
  /** Job slot of a batch (1, 2, ...): the grading user, as root. */
  slot: number;
  /** A fresh folder outside the kit for the run's builds, data and homes. */
  work: string;
  /** Whether the grader will run in a loopback-only network namespace (graderNetns). */
  loopbackOnly: boolean;
  /** Why not, when it will not. */
  networkNote?: string;
  /** The kit's folder: without bubblewrap, its modes must keep the grading user out. */
  kit?: string;
}

/** Whether a user other than the owner (and not in its group) can enter `dir`. */
export function openToOthers(dir: string): boolean {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    try {
      if ((statSync(at).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    if (path.dirname(at) === at) return true;
  }
}

/** What confinement this machine gives a submission; undefined where none at all (not Linux). */
export function makePlan(options: PlanOptions): SandboxPlan | undefined {
  if (!linux) return undefined;
  const missing: string[] = [];
  if (!works(['prlimit', '--version']) || !works(['setpriv', '--version'])) throw new Error('confined grading needs prlimit and setpriv (util-linux), which are missing here');
  const user = isRoot ? gradingUser(options.slot) : undefined;
  if (!isRoot) missing.push("programs run as the grader's own user (the grader is not root); bubblewrap hides the kit from them");
  const bwrap = bwrapWorks(user);
  if (!bwrap) missing.push(isRoot ? 'no bubblewrap sandbox here: the grading user and file modes keep programs from the kit, but they see the whole file system and other processes' : 'no sandbox: programs run as the grader, and can read and change what it can');
  if (user && !bwrap && options.kit && openToOthers(options.kit)) missing.push(`the kit (${options.kit}) is open to other users, the grading user too: close it (chmod 700) or install bubblewrap`);
  if (!options.loopbackOnly) missing.push(`network not confined: ${options.networkNote ?? 'this machine allows no network namespace'}`);
  prepareWork(options.work, user);
  const limits = defaultLimits(bwrap);
  if (!bwrap && !user) {
    // RLIMIT_NPROC would count every process of the grader's user, the instructor's browser too.
    limits.processes = 0;
    missing.push('no process limit: without a user namespace or a grading user, it would count all of your processes');
  }
  return { bwrap, user, loopbackOnly: options.loopbackOnly, limits, work: options.work, missing };
}

/** The work folder: the grading user may pass through it, never list it; its home is its own. */
export function prepareWork(work: string, user?: GradingUser): void {
  mkdirSync(path.join(work, 'home'), { recursive: true });
  mkdirSync(path.join(work, 'build'), { recursive: true });
  mkdirSync(path.join(work, 'data'), { recursive: true });
  chmodSync(work, 0o711);
  chmodSync(path.join(work, 'data'), 0o711);
  chmodSync(path.join(work, 'build'), 0o755);
  if (user) chownSync(path.join(work, 'home'), user.uid, user.gid);
  chmodSync(path.join(work, 'home'), 0o700);
}

/** A data folder of a confined program: the grading user's. */
export function ownDataDir(plan: SandboxPlan, dir: string): void {
  if (plan.user) chownSync(dir, plan.user.uid, plan.user.gid);
  chmodSync(dir, 0o700);
}

/** Makes everything under a data folder the grading user's (symbolic links are not followed). */
export function giveTree(dir: string, user: GradingUser): void {
  const walk = (at: string) => {
    try {
      lchownSync(at, user.uid, user.gid);
      if (!lstatSync(at).isDirectory()) return;
      for (const name of readdirSync(at)) walk(path.join(at, name));
    } catch {
      // Gone meanwhile.
    }
  };
  walk(dir);
}

/** Lets the grading user read a folder the grader made for it (a submission's copy), and nobody else. */
export function shareWithUser(plan: SandboxPlan | undefined, dir: string): void {
  if (!plan?.user) return;
  chownSync(dir, 0, plan.user.gid);
  chmodSync(dir, 0o750);
}

export function protectionsOf(plan: SandboxPlan | undefined): Protections {
  if (!plan) return unconfined;
  return {
    confined: true,
    user: plan.user ? `${plan.user.name} (uid ${plan.user.uid})` : "the grader's own",
    sandbox: plan.bwrap ? 'bubblewrap: system files read-only, the kit and home folders not mounted, private /tmp, no /proc but /proc/net' : 'none',
    network: plan.loopbackOnly ? 'loopback only (a network namespace of its own)' : 'not confined',
    limits: describeLimits(plan.limits),
    missing: plan.missing,
  };
}

/** One line for the top of a batch's output: what was in force, or what was not. */
export function protectionsLine(p: Protections): string {
  if (!p.confined) return 'NOT CONFINED: submissions ran with the grader\'s user, files, network and resources';
  const line = `confined: user ${p.user}; sandbox ${p.sandbox.split(':')[0]}; network ${p.network.split(' (')[0]}; limits ${p.limits}`;
  return p.missing.length ? `${line}\nnot in force here: ${p.missing.join('; ')}` : line;
}
