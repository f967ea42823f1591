// What a lab declares in its one registry file (labs/NN-name/lab.ts): its programs and the
// flags the spec gives them, and its phases with points, deadlines, prerequisites and the spec
// section that explains each. The CLI, the harness, the reports and the kit's own consistency
// tests all read this one place.

/** Values a phase test passes when it starts a program; each program turns them into flags. */
export type ProgramParams = Record<string, string | number | boolean | undefined> & { port?: number };

export interface ProgramSpec {
  /** The TypeScript entry file in an implementation folder. */
  file: string;
  /** True for programs that listen on a port the grader chooses; the harness waits for it. */
  listens: boolean;
  /** The command-line flags the spec defines, built from the test's parameters. */
  flags: (params: ProgramParams) => string[];
}

export interface PhaseSpec {
  /** "1.3": lab number, then phase number. Every test name in the phase starts with it. */
  id: string;
  name: string;
  points: number;
  /** The deadline for each test of the phase, before SWITCHBOARD_TIME_SCALE. */
  timeoutMs: number;
  /** Phases that must work for this one to make sense; a failure here is then reported as skipped. */
  needs?: string[];
  /** Where to read: a spec file and section, such as "spec/01-echo.md#3-the-echo-server". */
  spec: string;
  /** An instructor-only phase, declared in labs/NN-name/hidden/lab.ts; graded only with --hidden. */
  hidden?: boolean;
}

export interface LabSpec {
  number: number;
  /** The folder name under labs/, starter/ and solutions/: "01-echo". */
  dir: string;
  title: string;
  /** The program that a plain `--cmd "..."` replaces. */
  mainProgram: string;
  /**
   * The earlier lab whose finished code this lab's starter holds, by design ("05-persistence":
   * starter/06-replication has lab 5's service working, for lab 6 to build on). Releasing this
   * lab hands that code out: the export and the Gradescope package say so, and refuse while that
   * lab is declared still open. Followed on: what that lab carries is handed out too.
   */
  carries?: string;
  programs: Record<string, ProgramSpec>;
  phases: PhaseSpec[];
}

export function defineLab(lab: LabSpec): LabSpec {
  const ids = new Set<string>();
  for (const phase of lab.phases) {
    if (!phase.id.startsWith(`${lab.number}.`)) throw new Error(`phase ${phase.id} does not belong to lab ${lab.number}`);
    if (ids.has(phase.id)) throw new Error(`phase ${phase.id} is declared twice`);
    ids.add(phase.id);
  }
  if (!lab.programs[lab.mainProgram]) throw new Error(`lab ${lab.number}: main program ${lab.mainProgram} is not declared`);
  return lab;
}

/**
 * A lab with instructor-only phases added. labs/NN-name/hidden/lab.ts default-exports
 * `withHiddenPhases(base, [...])`, so the public registry never names a hidden phase.
 */
export function withHiddenPhases(lab: LabSpec, phases: Omit<PhaseSpec, 'hidden'>[]): LabSpec {
  return defineLab({ ...lab, phases: [...lab.phases, ...phases.map((p) => ({ ...p, hidden: true }))] });
}

/** True if phase `id` is selected by `filter`, which is an id ("1.3") or a prefix ("1"). */
export function phaseMatches(id: string, filter: string): boolean {
  return id === filter || id.startsWith(`${filter}.`);
}
