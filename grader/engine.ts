// Runs a lab's phase tests through vitest's Node API and scores them. vitest does the running
// (workers, deadlines, filtering, watch mode); this adds what it lacks: the run's configuration
// for the harness, a progress line, and the scoring.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, watch } from 'node:fs';
import path from 'node:path';
import { createVitest, type Reporter, type TestCase, type TestModule } from 'vitest/node';
import { buildProgram } from './harness/build.js';
import { implDir, type RunConfig } from './harness/config.js';
import { GroupRegistry } from './harness/groups.js';
import { runSeed } from './harness/random.js';
import { phaseMatches, type LabSpec, type PhaseSpec } from './lab.js';
import { testFiles } from './labs.js';
import { collect, type RunResult } from './results.js';

export interface GradeOptions {
  root: string;
  lab: LabSpec;
  /** 'starter', 'solution' or an absolute folder. */
  impl: string;
  commands: Record<string, string>;
  /** Phase ids or prefixes; empty for all. */
  phases: string[];
  hidden: boolean;
  cwd: string;
  /** Shows a progress line on this stream while tests run (a TTY). */
  progress?: NodeJS.WriteStream;
  /** Where this run keeps its logs and explanations; by default a new folder in .switchboard/runs. */
  runDir?: string;
  /** The seed of the run's random choices; by default SWITCHBOARD_SEED, or a new one. */
  seed?: number;
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
export function describeGraded(options: Pick<GradeOptions, 'root' | 'lab' | 'impl' | 'commands'>): string {
  const folder = implDir({ impl: options.impl, root: options.root } as RunConfig, options.lab.dir);
  const parts = [path.relative(options.root, folder) || folder];
  for (const [program, command] of Object.entries(options.commands)) parts.push(`${program}: ${command}`);
  return Object.keys(options.commands).length === Object.keys(options.lab.programs).length ? parts.slice(1).join('; ') : parts.join('; ');
}

function pruneOldRuns(runsDir: string): void {
  if (!existsSync(runsDir)) return;
  const runs = readdirSync(runsDir).sort();
  for (const old of runs.slice(0, Math.max(0, runs.length - keptRuns))) {
    const dir = path.join(runsDir, old);
    if (Date.now() - statSync(dir).mtimeMs > pruneAfterMs) rmSync(dir, { recursive: true, force: true });
  }
}

class ScoringReporter implements Reporter {
  private running = new Map<string, TestCase>();
  private timer: NodeJS.Timeout | undefined;
  private started = Date.now();
  modules: readonly TestModule[] = [];
  errors: readonly { message?: string; name?: string; stack?: string }[] = [];

  constructor(
    private readonly progress: NodeJS.WriteStream | undefined,
    private readonly onEnd: (modules: readonly TestModule[], errors: readonly { message?: string }[]) => void,
  ) {}

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

  onTestRunEnd(modules: readonly TestModule[], errors: readonly { message?: string; name?: string; stack?: string }[]): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.progress!.write('\r\x1b[2K');
    }
    this.running.clear();
    this.modules = modules;
    this.errors = errors;
    this.onEnd(modules, errors);
  }
}

/** Grades one lab once (or, with onWatchRun, on every change until interrupted). */
export async function grade(options: GradeOptions): Promise<RunResult> {
  const { root, lab } = options;
  const runsDir = path.join(root, '.switchboard', 'runs');
  pruneOldRuns(runsDir);
  const runDir = options.runDir ?? path.join(runsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  mkdirSync(runDir, { recursive: true });
  // A folder given with --logs may hold an earlier run's explanations and never-ready marks: they belong to that run.
  for (const stale of ['explain', 'never-ready']) rmSync(path.join(runDir, stale), { recursive: true, force: true });
  const config: RunConfig = {
    root,
    runDir,
    run: process.pid,
    impl: options.impl,
    commands: options.commands,
    cwd: options.cwd,
    logCapBytes: 1024 * 1024,
    seed: options.seed ?? runSeed(),
  };
  process.env.SWITCHBOARD_RUN = JSON.stringify(config);

  // Compile each TypeScript program once, here, so the test workers find it built.
  for (const [program, spec] of Object.entries(lab.programs)) {
    if (options.commands[program]) continue;
    const entry = path.join(implDir(config, lab.dir), spec.file);
    if (existsSync(entry)) await buildProgram(entry, path.join(root, '.switchboard', 'build')).catch(() => undefined);
  }

  const selected = selectPhases(lab, options.phases);
  const files = testFiles(root, lab.dir, options.hidden).filter((file) => {
    const id = /^(\d+\.\d+)/.exec(path.basename(file))?.[1];
    return id !== undefined && selected.some((p) => p.id === id);
  });
  if (files.length === 0) throw new Error(`no test files for the phases selected (${options.phases.join(', ') || 'all'}) in labs/${lab.dir}`);

  const escape = (id: string) => id.replace(/\./g, '\\.');
  const testNamePattern = options.phases.length ? `^(?:${options.phases.map(escape).join('|')})(?:\\.\\d+)* ` : undefined;
  const graded = describeGraded(options);
  let started = Date.now();
  let last: RunResult | undefined;
  const reporter = new ScoringReporter(options.progress, (modules, errors) => {
    last = collect(lab, selected, modules, errors, { runDir, graded, durationMs: Date.now() - started, seed: config.seed });
    last.runDir = path.relative(root, runDir);
    new GroupRegistry(groupsDir(root), process.pid, process.pid).killRun();
    if (options.onWatchRun) {
      options.onWatchRun(last);
      // A fresh start for the next run: a program that never came up may have been fixed since.
      rmSync(path.join(runDir, 'explain'), { recursive: true, force: true });
      rmSync(path.join(runDir, 'never-ready'), { recursive: true, force: true });
      started = Date.now();
    }
  });

  const vitest = await createVitest(
    'test',
    {
      root,
      config: false,
      watch: Boolean(options.onWatchRun),
      include: files.map((f) => path.relative(root, f).split(path.sep).join('/')),
      reporters: [reporter],
      testNamePattern,
      pool: 'forks',
      maxWorkers: 2,
      isolate: false,
      passWithNoTests: false,
      // A failing test is reported, never retried: a flaky pass would hide a race.
      retry: 0,
      hookTimeout: 15_000,
      teardownTimeout: 10_000,
    },
    // Logs and builds change constantly during a run; watching them would only cost.
    { server: { watch: { ignored: ['**/.switchboard/**', '**/node_modules/**', '**/.git/**'] } } },
  );
  try {
    started = Date.now();
    await vitest.start();
    if (options.onWatchRun) {
      // vitest re-runs when a test file changes; the programs under test are not imported by
      // the tests, so their folder is watched here.
      const specs = await vitest.globTestSpecifications();
      let timer: NodeJS.Timeout | undefined;
      watch(implDir(config, lab.dir), { recursive: true }, () => {
        clearTimeout(timer);
        timer = setTimeout(() => void vitest.rerunTestSpecifications(specs, true), 200);
      });
      await new Promise(() => undefined);
    }
  } finally {
    if (!options.onWatchRun) await vitest.close();
  }
  if (!last) throw new Error('vitest finished without reporting a result');
  return last;
}
