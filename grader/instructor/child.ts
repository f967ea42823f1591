// Grading one implementation the way a student does: the grader CLI in a child process of its
// own, with its own process id (so its own process groups and logs) and its JSON report read
// back. A child that crashes, hangs past the limit or writes no report is an outcome, not an
// exception: the caller gets its exit and its last words.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { RunResult } from '../results.js';
import type { SandboxPlan } from '../sandbox/index.js';

export interface CliOutcome {
  /** The report, when the grader wrote one. */
  run?: RunResult;
  exitCode?: number;
  /** The terminal report the grader printed (no colours). */
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

/** The CLI's --json report (toJson in grader/report/files.ts): a run, with its log folder as `logs`. */
type JsonReport = Omit<RunResult, 'runDir'> & { logs: string };

export interface CliOptions {
  root: string;
  /** The lab's folder name: "01-echo". */
  lab: string;
  /** The folder holding the programs. */
  impl: string;
  hidden: boolean;
  /** Where the JSON report goes. */
  json: string;
  /** Where the run keeps its logs. */
  logs: string;
  timeoutMs: number;
  /** How the submission's programs are confined (grader/sandbox), and the grader's network namespace. */
  sandbox?: SandboxPlan;
  /** A command the grader runs under (graderNetns: a network namespace with loopback only). */
  prefix?: string[];
}

export async function runCli(options: CliOptions): Promise<CliOutcome> {
  const args = [options.lab, '--impl', options.impl, '--json', options.json, '--logs', options.logs, ...(options.hidden ? ['--hidden'] : [])];
  const started = Date.now();
  const [file, ...rest] = [...(options.prefix ?? []), process.execPath, path.join(options.root, 'grader', 'start.mjs'), path.join(options.root, 'grader', 'cli.ts'), ...args] as [string, ...string[]];
  const child = await execa(file, rest, {
    cwd: options.root,
    env: {
      NO_COLOR: '1',
      INIT_CWD: options.root,
      ...(options.sandbox && { SWITCHBOARD_SANDBOX: JSON.stringify(options.sandbox) }),
      // In a network namespace of its own, every port is the grader's: its claims are its own too.
      ...(options.sandbox && options.prefix && { SWITCHBOARD_PORT_CLAIMS: path.join(options.sandbox.work, 'ports') }),
    },
    reject: false,
    timeout: options.timeoutMs,
    // SIGTERM lets the grader stop the processes it started; SIGKILL follows if it does not end.
    forceKillAfterDelay: 10_000,
    stdin: 'ignore',
    maxBuffer: 16 * 1024 * 1024,
  });
  let run: RunResult | undefined;
  if (existsSync(options.json)) {
    try {
      const report = JSON.parse(readFileSync(options.json, 'utf8')) as JsonReport;
      run = { ...report, runDir: report.logs };
    } catch {
      run = undefined;
    }
  }
  return {
    run,
    exitCode: child.exitCode,
    stdout: String(child.stdout ?? ''),
    stderr: String(child.stderr ?? ''),
    timedOut: Boolean(child.timedOut),
    durationMs: Date.now() - started,
  };
}

/** Why a child wrote no report, in one line. */
export function whyNoReport(outcome: CliOutcome, timeoutMs: number): string {
  if (outcome.timedOut) return `the grader did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped`;
  const lines = outcome.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const error = lines.find((l) => l.startsWith('grader error:')) ?? lines[lines.length - 1];
  return `the grader wrote no report (exit ${outcome.exitCode ?? 'none'})${error ? `: ${error}` : ''}`;
}
