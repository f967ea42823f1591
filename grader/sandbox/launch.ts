// How a confined program is started: the command the harness runs instead of the program's own,
// and its environment. See plan.ts for the layers.
//
// With bubblewrap, the program's world is: the system's programs and libraries (read-only), a
// few files of /etc, node, its own build and working folder (read-only), its data folders
// (read-write), a private /tmp of bounded size holding its HOME, and of /proc only /proc/net
// (no process is visible to it, so neither is the grader's working folder through
// /proc/PID/cwd). It has a user namespace of its own (its own process budget, see limits.ts),
// but not a pid namespace: the programs of one submission must see each other's process ids
// (lab 5's lock names the server holding it), so the grader and its programs share one pid
// namespace, made around the grader (index.ts, graderNetns), that nothing else is in.
// Not --new-session: the programs must stay in the process group the harness kills and the
// readiness check looks in (procfs.ts); they have no terminal to take over (the harness starts
// them detached). --die-with-parent: if the grader dies, so does the program.
// Without bubblewrap (root, in a container that allows no namespaces), the program runs as the
// grading user with the limits, in folders only it and the grader can enter.
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prlimitArgs } from './limits.js';
import type { SandboxPlan } from './plan.js';

export interface Confinement {
  plan: SandboxPlan;
  /** Folders and files the program reads: its build, its working folder. */
  readable: string[];
  /** Folders it writes: its data folders. */
  writable: string[];
  /** Its HOME and TMPDIR when there is no private /tmp (no bubblewrap). */
  home: string;
}

const systemPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const etcFiles = ['/etc/hosts', '/etc/host.conf', '/etc/nsswitch.conf', '/etc/resolv.conf', '/etc/passwd', '/etc/group', '/etc/localtime', '/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/alternatives', '/etc/ssl', '/etc/ca-certificates', '/etc/python3', '/etc/mime.types'];
const tmpBytes = 128 * 1024 * 1024;
const forwarded = 'TERM,INT,HUP';

/** The environment of a confined program: nothing of the grader's (its configuration names the kit). */
export function confinedEnv(c: Confinement, given: Record<string, string> = {}): Record<string, string> {
  const home = c.plan.bwrap ? '/tmp/home' : c.home;
  const nodeDir = path.dirname(process.execPath);
  return { PATH: `${nodeDir}:${systemPath}`, HOME: home, TMPDIR: c.plan.bwrap ? '/tmp' : c.home, LANG: 'C.UTF-8', ...given, FORCE_COLOR: '0' };
}

/** The bubblewrap arguments that mount the program's world, up to and including `--`. */
export function bwrapArgs(c: Confinement, cwd: string): string[] {
  const args = ['bwrap', '--unshare-user', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--disable-userns', '--die-with-parent'];
  args.push('--ro-bind', '/usr', '/usr');
  for (const top of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    if (!existsSync(top)) continue;
    if (lstatSync(top).isSymbolicLink()) args.push('--symlink', readlinkSync(top), top);
    else args.push('--ro-bind', top, top);
  }
  for (const file of etcFiles) args.push('--ro-bind-try', file, file);
  args.push('--dev', '/dev', '--tmpfs', '/proc', '--ro-bind', '/proc/self/net', '/proc/net');
  args.push('--size', String(tmpBytes), '--tmpfs', '/tmp', '--dir', '/tmp/home');
  // node itself, wherever it is installed (nvm puts it under the home folder).
  const prefix = path.dirname(path.dirname(process.execPath));
  if (!process.execPath.startsWith('/usr/')) args.push('--ro-bind', prefix, prefix);
  // After /tmp: the grader's folders may be under it.
  for (const dir of unique(c.readable)) args.push('--ro-bind', dir, dir);
  for (const dir of unique(c.writable)) args.push('--bind', dir, dir);
  args.push('--chdir', cwd, '--');
  return args;
}

/** How a program under bubblewrap ended: its monitor exits with 128 + the signal that killed the program. */
export function exitThroughBwrap(code: number | null, signal: NodeJS.Signals | null): { code: number | null; signal: NodeJS.Signals | null } {
  if (signal !== null || code === null || code <= 128 || code > 128 + 64) return { code, signal };
  const name = Object.entries(os.constants.signals).find(([, n]) => n === code - 128)?.[0] as NodeJS.Signals | undefined;
  return name ? { code: null, signal: name } : { code, signal };
}

/** The command that runs `command` confined by the plan. */
export function confineCommand(c: Confinement, command: string[], cwd: string): string[] {
  const { plan } = c;
  const drop = plan.user ? ['setpriv', `--reuid=${plan.user.uid}`, `--regid=${plan.user.gid}`, '--clear-groups', '--'] : [];
  // The harness signals the whole process group, bubblewrap's monitor included: it must outlive a
  // SIGTERM and pass on the program's own exit (a graceful exit 0, or 128 + the signal), while
  // the program gets the default dispositions back (env, from coreutils 8.31).
  if (plan.bwrap) return [...drop, 'env', `--ignore-signal=${forwarded}`, ...bwrapArgs(c, cwd), 'env', `--default-signal=${forwarded}`, ...prlimitArgs(plan.limits), ...command];
  return [...drop, ...prlimitArgs(plan.limits), ...command];
}

function unique(paths: string[]): string[] {
  // Sorted, a folder comes before the folders inside it, which are then mounted over it.
  return [...new Set(paths.map((p) => path.resolve(p)))].sort();
}
