// The grader's account of one run, built only from what the grader observed (vitest's results
// and the harness's diagnostics), never from anything the programs under test printed.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { TestCase, TestModule } from 'vitest/node';
import type { Diagnostics } from './harness/index.js';
import type { LabSpec, PhaseSpec } from './lab.js';
import type { Protections } from './sandbox/plan.js';

export interface TestResult {
  name: string;
  phase: string;
  points: number;
  maxPoints: number;
  state: 'passed' | 'failed' | 'skipped';
  durationMs: number;
  /** The failure as the student should read it. */
  error?: string;
  diagnostics?: Diagnostics;
  /** The test's trace, a space-time diagram (relative to the kit's root): every failed test has one, and every test under --trace. */
  trace?: string;
}

export type PhaseStatus = 'passed' | 'failed' | 'blocked' | 'not run';

export interface PhaseResult {
  id: string;
  name: string;
  points: number;
  maxPoints: number;
  status: PhaseStatus;
  /** For 'blocked': the phases it needs that failed. */
  blockedBy: string[];
  durationMs: number;
  spec: string;
  tests: TestResult[];
  /** Why a phase has no results: its test file could not be loaded. */
  problem?: string;
}

export interface RunResult {
  lab: { number: number; dir: string; title: string };
  /** What was graded, as the user named it: "starter/01-echo", a folder, or the --cmd strings. */
  graded: string;
  score: number;
  maxScore: number;
  phases: PhaseResult[];
  durationMs: number;
  /** Where this run's logs are, relative to the kit's root. */
  runDir: string;
  /** Errors outside any test (a crash in a test file, an unhandled rejection). */
  errors: string[];
  /** The seed of the run's random choices: SWITCHBOARD_SEED=<seed> replays them. */
  seed: number;
  /** Worth knowing, never worth points: type errors in the student's TypeScript. */
  warnings: string[];
  /** In watch mode: the files whose change started this run. */
  changed?: string[];
  /** The protections the programs ran under (grader/sandbox): user, sandbox, network, limits. */
  protections?: Protections;
}

/** Rewrites vitest's own wording into the kit's, and drops stack frames from the grader's failures. */
export function describeError(error: { name?: string; message?: string; stack?: string } | undefined): string {
  if (!error) return 'failed (no error recorded)';
  const message = error.message ?? String(error);
  const timedOut = /^Test timed out in (\d+)ms/.exec(message);
  if (timedOut) return `the test did not finish within its deadline of ${Number(timedOut[1]) / 1000} s; the steps below show what it was waiting for`;
  if (error.name === 'GradeFailure') return message;
  const frame = error.stack?.split('\n').find((line) => /^\s+at /.test(line) && !line.includes('node_modules'));
  return `${error.name ?? 'Error'}: ${message}${frame ? `\n${frame.trim()}` : ''}`;
}

function readDiagnostics(runDir: string, testId: string): Diagnostics | undefined {
  const file = path.join(runDir, 'explain', `${testId.replace(/[^\w.-]/g, '_')}.json`);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Diagnostics;
  } catch {
    return undefined;
  }
}

/** The HTML trace a test wrote, as the harness names it in runDir/trace/ (see traceIndexFile in harness/index.ts). */
function readTrace(runDir: string, testId: string): string | undefined {
  const file = path.join(runDir, 'trace', `${testId.replace(/[^\w.-]/g, '_')}.json`);
  if (!existsSync(file)) return undefined;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { html?: string }).html;
  } catch {
    return undefined;
  }
}

function testResult(test: TestCase, runDir: string): TestResult | undefined {
  const meta = test.meta();
  if (!meta.phase) return undefined;
  const result = test.result();
  const state = result.state === 'passed' ? 'passed' : result.state === 'failed' ? 'failed' : 'skipped';
  const maxPoints = meta.points ?? 0;
  return {
    name: test.name,
    phase: meta.phase,
    points: state === 'passed' ? maxPoints : 0,
    maxPoints,
    state,
    durationMs: Math.round(test.diagnostic()?.duration ?? 0),
    error: state === 'failed' ? describeError(result.errors?.[0]) : undefined,
    diagnostics: state === 'failed' ? readDiagnostics(runDir, test.id) : undefined,
    trace: readTrace(runDir, test.id),
  };
}

/** Scores a run: every selected phase of the lab, with its tests, points and status. */
export function collect(
  lab: LabSpec,
  selected: PhaseSpec[],
  modules: readonly TestModule[],
  unhandled: readonly { message?: string; name?: string; stack?: string }[],
  context: { runDir: string; graded: string; durationMs: number; seed: number },
): RunResult {
  const tests: TestResult[] = [];
  const problems = new Map<string, string>();
  const errors = unhandled.map((e) => describeError(e));
  for (const module of modules) {
    for (const test of module.children.allTests()) {
      const result = testResult(test, context.runDir);
      if (result) tests.push(result);
    }
    const moduleErrors = module.errors();
    if (moduleErrors.length > 0) {
      const phaseId = /(\d+\.\d+)[^/\\]*$/.exec(module.moduleId)?.[1];
      const text = `${path.basename(module.moduleId)} could not run: ${describeError(moduleErrors[0])}`;
      if (phaseId) problems.set(phaseId, text);
      else errors.push(text);
    }
  }

  const phases: PhaseResult[] = selected.map((spec) => {
    const own = tests.filter((t) => t.phase === spec.id);
    const points = own.reduce((sum, t) => sum + t.points, 0);
    const ran = own.filter((t) => t.state !== 'skipped');
    const failed = own.some((t) => t.state === 'failed') || problems.has(spec.id);
    return {
      id: spec.id,
      name: spec.name,
      points,
      maxPoints: spec.points,
      status: ran.length === 0 && !problems.has(spec.id) ? 'not run' : failed ? 'failed' : 'passed',
      blockedBy: [],
      durationMs: own.reduce((sum, t) => sum + t.durationMs, 0),
      spec: spec.spec,
      tests: own,
      problem: problems.get(spec.id),
    };
  });

  // A failed phase that needs another failed (or itself blocked) phase is reported as blocked by
  // it: its own failures are most likely the same problem seen again. Phases are in order, and
  // a phase needs only earlier ones, so one pass settles chains.
  for (const phase of phases) {
    // A phase whose needs failed is not run at all (engine.ts), or failed for the same reason.
    if (phase.status !== 'failed' && phase.status !== 'not run') continue;
    const needs = selected.find((s) => s.id === phase.id)?.needs ?? [];
    phase.blockedBy = needs.filter((id) => {
      const status = phases.find((p) => p.id === id)?.status;
      return status === 'failed' || status === 'blocked';
    });
    if (phase.blockedBy.length > 0) phase.status = 'blocked';
  }

  return {
    lab: { number: lab.number, dir: lab.dir, title: lab.title },
    graded: context.graded,
    score: phases.reduce((sum, p) => sum + p.points, 0),
    maxScore: phases.reduce((sum, p) => sum + p.maxPoints, 0),
    phases,
    durationMs: context.durationMs,
    runDir: context.runDir,
    errors,
    seed: context.seed,
    warnings: [],
  };
}
