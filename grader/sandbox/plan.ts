// What confinement a grading run has, decided once per submission by whoever grades others' code
// (`npm run grade`, the Gradescope autograder, `npm run lab -- --sandbox`), and handed to the
// test workers in the run's configuration. A student's own `npm run lab N` has no plan: their
// programs run as they would by hand, on every OS.
//
// Three layers, each used where the machine allows it, and each named in the results:
//   - user: as root, programs run as a grading user made for it (users.ts), so the kit's files
//     (locked to root) and the grader's processes are out of reach whatever else fails;
//   - sandbox: bubblewrap, where it can make namespaces: only the system's programs and libraries,
//     node, the program's own build and folders are mounted; /tmp is private and bounded; the
//     program sees its own processes only (a pid namespace), never the grader's working folder;
//   - network: the grader runs in a network namespace of its own with loopback only, and its
//     programs with it (the tests reach them over loopback);
// and limits on every program (limits.ts): processes, memory, open files, file size, CPU time, disk.
import type { Limits } from './limits.js';

export interface GradingUser {
  name: string;
  uid: number;
  gid: number;
}

export interface SandboxPlan {
  /** Launch through bubblewrap (Linux, where namespaces can be made). */
  bwrap: boolean;
  /** Run as this user (the grader is root). */
  user?: GradingUser;
  /** Whether the grader itself runs in a network namespace with loopback only. */
  loopbackOnly: boolean;
  limits: Limits;
  /** A folder outside the kit for this run's builds, data folders and homes; the grader removes it. */
  work: string;
  /** What could not be had here, said in the results. */
  missing: string[];
}

/** What a result records: the protections that were in force, in words. */
export interface Protections {
  confined: boolean;
  user: string;
  sandbox: string;
  network: string;
  limits: string;
  /** Protections this machine could not give, one line each. */
  missing: string[];
}

export const unconfined: Protections = {
  confined: false,
  user: "the grader's own",
  sandbox: 'none',
  network: 'not confined',
  limits: 'none',
  missing: ['not confined: programs run as the grader runs, with its files, network and resources'],
};

/** The plan the grading tools put in SWITCHBOARD_SANDBOX, or undefined: not confined. */
export function planFromEnv(env: NodeJS.ProcessEnv = process.env): SandboxPlan | undefined {
  const given = env.SWITCHBOARD_SANDBOX;
  return given ? (JSON.parse(given) as SandboxPlan) : undefined;
}
