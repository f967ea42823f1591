// What one grader run passes to its test workers: which implementation to grade, the commands
// that replace programs (--cmd), where logs go. The CLI puts it in SWITCHBOARD_RUN; a plain
// `npx vitest labs/01-echo` run has no CLI, and gets the defaults: the starter, logs under
// .switchboard/direct.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SandboxPlan } from '../sandbox/plan.js';
import { runSeed } from './random.js';

export interface RunConfig {
  /** The kit's root folder. */
  root: string;
  /** Where this run keeps logs, explanations and markers. */
  runDir: string;
  /** The CLI's process id: every process group this run starts is recorded under it. */
  run: number;
  /** 'starter', 'solution', or an absolute path to an implementation folder. */
  impl: string;
  /** Program name to command string, from --cmd. */
  commands: Record<string, string>;
  /** Working directory for --cmd programs: where the user ran the grader. */
  cwd: string;
  logCapBytes: number;
  /** The run's seed for random fault schedules (SWITCHBOARD_SEED replays one). */
  seed: number;
  /** Grading others' code: how its programs are confined (grader/sandbox). A student's own run has none. */
  sandbox?: SandboxPlan;
  /** The phases this run grades, in the lab's order: a phase waits for those it needs (needs.ts). */
  phases?: string[];
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function runConfig(): RunConfig {
  const given = process.env.SWITCHBOARD_RUN;
  if (given) return JSON.parse(given) as RunConfig;
  return {
    root,
    runDir: path.join(root, '.switchboard', 'direct'),
    run: process.ppid,
    impl: process.env.SWITCHBOARD_IMPL ?? 'starter',
    commands: {},
    cwd: process.cwd(),
    logCapBytes: 1024 * 1024,
    seed: runSeed(),
  };
}

export function kitRoot(): string {
  return root;
}

/** Where the programs' builds go: the kit's cache, or the confined run's own folder outside the kit. */
export function buildDir(config: Pick<RunConfig, 'root' | 'sandbox'>): string {
  return config.sandbox ? path.join(config.sandbox.work, 'build') : path.join(config.root, '.switchboard', 'build');
}

/** The folder holding one lab's programs for the configured implementation. */
export function implDir(config: RunConfig, labDir: string): string {
  if (config.impl === 'starter') return path.join(config.root, 'starter', labDir);
  if (config.impl === 'solution') return path.join(config.root, 'solutions', labDir);
  return config.impl;
}
