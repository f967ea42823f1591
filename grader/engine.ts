// Runs a lab's phase tests through vitest's Node API and scores them. vitest does the running
// (workers, deadlines, filtering); this adds what it lacks: the run's configuration for the
// harness, phases run in the order their needs give (a phase whose needs failed is not run), a
// progress line, type-check warnings, watching the student's files, and the scoring.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, watch } from 'node:fs';
import path from 'node:path';
import { createVitest, type Reporter, type TestCase, type TestModule } from 'vitest/node';
import { buildProgram } from './harness/build.js';
import { buildDir, implDir, type RunConfig } from './harness/config.js';
import { protectionsOf, type SandboxPlan } from './sandbox/index.js';
import { GroupRegistry } from './harness/groups.js';
import { markPhaseEnded } from './harness/needs.js';
import { runSeed } from './harness/random.js';
import { phaseMatches, type LabSpec, type PhaseSpec } from './lab.js';
import { testFiles } from './labs.js';
import { collect, type RunResult } from './results.js';
import { typeErrors } from './typecheck.js';

export interface GradeOptions {
  root: string;
  lab: LabSpec;
  /** 'starter', 'solution' or an absolute folder. */
  impl: string;
  commands: Record<string, string>;
  /** Phase ids or prefixes; empty for all. */
  phases: string[];
  /** Only the tests whose full name holds one of these (--test); empty or absent for all. */
  tests?: string[];
  hidden: boolean;
  cwd: string;
  /** Shows a progress line on this stream while tests run (a TTY). */
  progress?: NodeJS.WriteStream;
  /** Where this run keeps its logs and explanations; by default a new folder in .switchboard/runs. */
  runDir?: string;
  /** The seed of the run's random choices; by default SWITCHBOARD_SEED, or a new one. */
  seed?: number;
  /** Every test writes its trace, not only the failed ones (SWITCHBOARD_TRACE=1 does the same). */
  trace?: boolean;
  /** Grading others' code: how its programs are confined (grader/sandbox); none for a student's own run. */
  sandbox?: SandboxPlan;
  /** Watch mode: called after every run; grade() then never returns. */
  onWatchRun?: (run: RunResult) => void;
}

const keptRuns = 20;
/** Runs younger than this are never pruned: another grader may be using them. */
const pruneAfterMs = 60 * 60 * 1000;

export function groupsDir(root: string): string {
  return path.join(root, '.switchboard', 'groups');
}

/** Phases selected by the --phase filters (all when there are none). */
export function selectPhases(lab: LabSpec, filters: string[]): PhaseSpec[] {
  return lab.phases.filter((p) => filters.length === 0 || filters.some((f) => phaseMatches(p.id, f)));
}

/** What was graded, as the report names it. */
export function describeGraded(options: Pick<GradeOptions, 'root' | 'lab' | 'impl' | 'commands' | 'tests'>): string {
  const folder = implDir({ impl: options.impl, root: options.root } as RunConfig, options.lab.dir);
  const parts = [path.relative(options.root, folder) || folder];
  for (const [program, command] of Object.entries(options.commands)) parts.push(`${program}: ${command}`);
  const what = Object.keys(options.commands).length === Object.keys(options.lab.programs).length ? parts.slice(1).join('; ') : parts.join('; ');
  // A score of some tests only must not read as a grade.
  return options.tests?.length ? `${what}; only the tests whose name holds ${options.tests.map((t) => JSON.stringify(t)).join(' or ')}` : what;
}

function pruneOldRuns(runsDir: string): void {
  if (!existsSync(runsDir)) return;
  const runs = readdirSync(runsDir).sort();
  for (const old of runs.slice(0, Math.max(0, runs.length - keptRuns))) {
    const dir = path.join(runsDir, old);
    // Another run started beside this one may be pruning the same folder: one gone already is fine.
    const stat = statSync(dir, { throwIfNoEntry: false });
    if (stat && Date.now() - stat.mtimeMs > pruneAfterMs) rmSync(dir, { recursive: true, force: true });
  }
}

class ProgressReporter implements Reporter {
  private running = new Map<string, TestCase>();
  private timer: NodeJS.Timeout | undefined;
  private started = Date.now();

  constructor(private readonly progress: NodeJS.WriteStream | undefined) {}

  onTestRunStart(): void {
    this.started = Date.now();
    if (this.progress && !this.timer) this.timer = setInterval(() => this.draw(), 250);
  }

  onTestCaseReady(test: TestCase): void {
    this.running.set(test.id, test);
  }

  onTestCaseResult(test: TestCase): void {
    this.running.delete(test.id);
  }

  private draw(): void {
    const names = [...this.running.values()].map((t) => t.name);
    const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
    const frame = frames[Math.floor(Date.now() / 100) % frames.length];
    const text = names.length ? `running ${names.join(', ')}` : 'starting';
    const line = `${frame} ${text} (${((Date.now() - this.started) / 1000).toFixed(1)} s)`;
    const width = (this.progress!.columns || 80) - 1;
    this.progress!.write(`\r\x1b[2K${line.slice(0, width)}`);
  }

  onTestRunEnd(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.progress!.write('\r\x1b[2K');
    }
    this.running.clear();
  }
}

/**
 * The order the two workers take the phase files in. A phase comes after those it needs (each
 * waits for them: harness/needs.ts). Phases that need none of the selected ones go first, so the
 * second worker runs one of them (a client phase, often slow but light) while the first phase
 * runs, instead of waiting for it. Within each group, the lab's order.
 */
function phaseOrder(lab: LabSpec, selected: PhaseSpec[]) {
  const ids = new Set(selected.map((p) => p.id));
  const rank = (file: string): number => {
    const index = lab.phases.findIndex((p) => p.id === phaseOfFile(file));
    if (index < 0) return Number.MAX_SAFE_INTEGER;
    const waits = (lab.phases[index]!.needs ?? []).some((id) => ids.has(id));
    return (waits ? lab.phases.length : 0) + index;
  };
  return class {
    async shard<T>(files: T[]): Promise<T[]> {
      return files;
    }
    async sort<T extends { moduleId: string }>(files: T[]): Promise<T[]> {
      return [...files].sort((a, b) => rank(a.moduleId) - rank(b.moduleId));
    }
  };
}

/** Marks each phase as its file ends, for the phases that wait for it (harness/needs.ts). */
class PhaseMarks implements Reporter {
  constructor(private readonly runDir: string) {}

  onTestModuleEnd(module: TestModule): void {
    const id = phaseOfFile(module.moduleId);
    if (id) markPhaseEnded(this.runDir, id, failedPhases([module]).has(id));
  }
}

function phaseOfFile(file: string): string | undefined {
  return /^(\d+\.\d+)/.exec(path.basename(file))?.[1];
}

/** Phases that failed in these modules: a failed test, or a file that could not run. */
function failedPhases(modules: readonly TestModule[]): Set<string> {
  const failed = new Set<string>();
  for (const module of modules) {
    const id = phaseOfFile(module.moduleId);
    if (!id) continue;
    const tests = [...module.children.allTests()];
    if (module.errors().length > 0 || tests.some((t) => t.result().state === 'failed')) failed.add(id);
  }
  return failed;
}

/** Grades one lab once (or, with onWatchRun, on every change until interrupted). */
export async function grade(options: GradeOptions): Promise<RunResult> {
  const { root, lab } = options;
  const runsDir = path.join(root, '.switchboard', 'runs');
  pruneOldRuns(runsDir);
  const runDir = options.runDir ?? path.join(runsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  mkdirSync(runDir, { recursive: true });
  // A folder given with --logs may hold an earlier run's explanations and never-ready marks: they belong to that run.
  const freshStart = () => {
    for (const stale of ['explain', 'never-ready', 'trace', 'phases']) rmSync(path.join(runDir, stale), { recursive: true, force: true });
  };
  freshStart();
  const config: RunConfig = {
    root,
    runDir,
    run: process.pid,
    impl: options.impl,
    commands: options.commands,
    cwd: options.cwd,
    logCapBytes: 1024 * 1024,
    seed: options.seed ?? runSeed(),
    sandbox: options.sandbox,
    phases: selectPhases(lab, options.phases).map((p) => p.id),
  };
  process.env.SWITCHBOARD_RUN = JSON.stringify(config);
  if (options.trace) process.env.SWITCHBOARD_TRACE = '1';
  const folder = implDir(config, lab.dir);
  const entries = Object.entries(lab.programs)
    .filter(([program]) => !options.commands[program])
    .map(([, spec]) => path.join(folder, spec.file));

  const selected = selectPhases(lab, options.phases);
  const files = testFiles(root, lab.dir, options.hidden).filter((file) => {
    const id = phaseOfFile(file);
    return id !== undefined && selected.some((p) => p.id === id);
  });
  if (files.length === 0) throw new Error(`no test files for the phases selected (${options.phases.join(', ') || 'all'}) in labs/${lab.dir}`);

  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // A test's name begins with its phase's id; with --test, it must also hold one of the texts.
  const phasePart = options.phases.length ? `(?:${options.phases.map(escape).join('|')})(?:\\.\\d+)* ` : '';
  const testPart = options.tests?.length ? `(?=.*(?:${options.tests.map(escape).join('|')}))` : '';
  const testNamePattern = phasePart || testPart ? `^${testPart}${phasePart}` : undefined;
  const graded = describeGraded(options);
  const reporter = new ProgressReporter(options.progress);

  const vitest = await createVitest(
    'test',
    {
      root,
      config: false,
      watch: false,
      include: files.map((f) => path.relative(root, f).split(path.sep).join('/')),
      reporters: [reporter, new PhaseMarks(runDir)],
      sequence: { sequencer: phaseOrder(lab, selected) },
      testNamePattern,
      pool: 'forks',
      maxWorkers: 2,
      isolate: false,
      passWithNoTests: false,
      // A failing test is reported, never retried: a flaky pass would hide a race.
      retry: 0,
      hookTimeout: 15_000,
      teardownTimeout: 10_000,
      // Each run would otherwise compile every test file and harness module again (about 0.5 s
      // of CPU of a 1.9 s one-phase run). Entries are keyed by path and content, so an edited
      // test is compiled afresh. The folder is the kit's, which graded programs cannot see.
      experimental: { fsModuleCache: true, fsModuleCachePath: '.switchboard/vitest-cache' },
    },
    // Logs and builds change constantly during a run; watching them would only cost.
    { server: { watch: null } },
  );

  /** One whole run: type-check and build, then the phases. */
  const runOnce = async (): Promise<RunResult> => {
    const started = Date.now();
    // Compile each TypeScript program once, here, so the test workers find it built; type-check
    // it meanwhile, for the warnings.
    // Confined, a program that imports files outside its folder does not build, and is not
    // type-checked either: the checker's messages could quote what such a file declares.
    const confined = Boolean(config.sandbox);
    let checking: Promise<string[]> = confined ? Promise.resolve([]) : typeErrors(root, entries, folder);
    let built = true;
    for (const entry of entries) {
      if (existsSync(entry)) await buildProgram(entry, buildDir(config), { confineTo: confined ? folder : undefined }).catch(() => (built = false));
    }
    if (confined && built) checking = typeErrors(root, entries, folder);
    // Every selected phase at once, in phaseOrder's order; each waits for those it needs (harness/needs.ts).
    rmSync(path.join(runDir, 'phases'), { recursive: true, force: true });
    const order = (spec: { moduleId: string }) => selected.findIndex((phase) => phase.id === phaseOfFile(spec.moduleId));
    // The order is phaseOrder's (vitest's sequencer sorts what it is given).
    const specs = (await vitest.globTestSpecifications()).filter((spec) => order(spec) >= 0);
    const result = await vitest.runTestSpecifications(specs, false);
    // What vitest returns may include modules of earlier runs (watch mode): keep those of this one.
    const modules = new Map<string, TestModule>();
    for (const module of result.testModules) if (specs.some((spec) => spec.moduleId === module.moduleId)) modules.set(module.moduleId, module);
    const errors = result.unhandledErrors.map((e) => e as { message?: string; name?: string; stack?: string });
    const run = collect(lab, selected, [...modules.values()], errors, { runDir, graded, durationMs: Date.now() - started, seed: config.seed });
    run.runDir = path.relative(root, runDir);
    run.protections = protectionsOf(config.sandbox);
    run.warnings = (await checking).map((line) => `type error: ${line}`);
    new GroupRegistry(groupsDir(root), process.pid, process.pid).killRun();
    return run;
  };

  try {
    await vitest.standalone();
    if (!options.onWatchRun) return await runOnce();
    // The programs under test are not imported by the tests, so vitest cannot see them change:
    // watch their folder, and the lab's tests, from before the first run, and run everything
    // again after a change (after the run in progress, if there is one).
    const onWatchRun = options.onWatchRun;
    let timer: NodeJS.Timeout | undefined;
    let changed = new Set<string>();
    let running: Promise<void> = Promise.resolve();
    const rerun = () => {
      running = running.then(async () => {
        const files = [...changed];
        changed = new Set();
        for (const file of files) vitest.invalidateFile(file);
        // A fresh start: a program that never came up may have been fixed since.
        freshStart();
        const run = await runOnce();
        run.changed = files.map((f) => path.relative(root, f));
        onWatchRun(run);
      });
    };
    const onChange = (base: string) => (_event: string, name: string | Buffer | null) => {
      if (name) changed.add(path.join(base, String(name)));
      clearTimeout(timer);
      timer = setTimeout(rerun, 200);
    };
    watch(folder, { recursive: true }, onChange(folder));
    const labFolder = path.join(root, 'labs', lab.dir);
    watch(labFolder, { recursive: true }, onChange(labFolder));
    running = runOnce().then((first) => onWatchRun(first));
    return await new Promise<RunResult>(() => undefined);
  } finally {
    if (!options.onWatchRun) await vitest.close();
  }
}
