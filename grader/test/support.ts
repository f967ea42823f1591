// Running the grader the way a user does, from the kit's own tests: as a separate process,
// through the same entry point as `npm run lab`, with its JSON report read back.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { expect } from 'vitest';
import { scaled } from '../harness/wait.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The arguments after `node` that start one of the kit's commands as its npm script does:
 * grader/start.mjs, then the command's file (see start.mjs for why not tsx alone). `kit` is the
 * checkout the command belongs to (an exported copy has its own).
 */
export function kitArgs(file: string, kit = root): string[] {
  return [path.join(kit, 'grader', 'start.mjs'), file];
}

/** A deadline of the kit's own tests, scaled like the grader's by SWITCHBOARD_TIME_SCALE. */
export const ms = scaled;

/**
 * A lab's starter as committed (the files of HEAD), in a folder of its own inside the kit (so
 * its imports resolve as the working tree's do). The kit's tests grade this, never the working
 * tree's starter, which an instructor trying a lab, or a student, may have filled in. Outside a
 * git checkout (an exported student repository) the working tree is all there is.
 */
export function committedStarter(labDir: string): string {
  const git = (args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  let head: string;
  try {
    head = git(['rev-parse', 'HEAD']).trim();
  } catch {
    return path.join(root, 'starter', labDir);
  }
  const dir = path.join(root, '.switchboard', 'committed', head.slice(0, 12), 'starter', labDir);
  if (existsSync(dir)) return dir;
  const temp = `${dir}.${process.pid}.tmp`;
  rmSync(temp, { recursive: true, force: true });
  const prefix = `starter/${labDir}/`;
  for (const file of git(['ls-tree', '-r', '--name-only', 'HEAD', '--', prefix]).split('\n').filter(Boolean)) {
    const target = path.join(temp, file.slice(prefix.length));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, execFileSync('git', ['-C', root, 'show', `HEAD:${file}`]));
  }
  mkdirSync(path.dirname(dir), { recursive: true });
  try {
    renameSync(temp, dir);
  } catch {
    // Another test worker made it first.
    rmSync(temp, { recursive: true, force: true });
  }
  return dir;
}

export interface GraderRun {
  code: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  json: {
    logs: string;
    score: number;
    maxScore: number;
    errors: string[];
    phases: {
      id: string;
      status: string;
      points: number;
      maxPoints: number;
      tests: { name: string; state: string; points: number; maxPoints: number; error?: string; diagnostics?: { todo?: string } }[];
    }[];
  };
  /** The folder the run's reports were written to; removed by cleanup(). */
  dir: string;
}

/** Runs `npm run lab -- <args>` (as `node grader/start.mjs grader/cli.ts`) and reads its JSON report. */
export async function runGrader(
  args: string[],
  options: { cwd?: string; timeoutMs?: number; env?: Record<string, string>; jsonFile?: string; onStart?: (pid: number) => void } = {},
): Promise<GraderRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-test-'));
  const json = options.jsonFile ?? path.join(dir, 'results.json');
  const started = Date.now();
  const child = execa(process.execPath, [...kitArgs(path.join(root, 'grader', 'cli.ts')), ...args, '--json', json], {
    // As npm does: the grader runs in the kit's folder; INIT_CWD is where the user typed the command.
    cwd: root,
    env: { NO_COLOR: '1', INIT_CWD: options.cwd ?? root, ...options.env },
    reject: false,
    timeout: ms(options.timeoutMs ?? 110_000),
    all: false,
  });
  if (child.pid !== undefined) options.onStart?.(child.pid);
  const result = await child;
  const durationMs = Date.now() - started;
  let parsed: GraderRun['json'];
  try {
    parsed = JSON.parse(readFileSync(json, 'utf8')) as GraderRun['json'];
  } catch {
    throw new Error(`the grader wrote no JSON report (exit ${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
  }
  return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr), durationMs, json: parsed, dir };
}

/**
 * A starter fails fast: every test fails on its first wait, because the program says at once
 * that its part is a TODO. So no failure may be a deadline that ran out. (Timing the run would
 * say the same on an idle machine and fail for nothing on a loaded one.)
 */
export function expectNoDeadlineRanOut(run: GraderRun): void {
  const waited = run.json.phases.flatMap((p) => p.tests).filter((t) => /within \d+(\.\d)? s|did not finish within its deadline/.test(t.error ?? ''));
  expect(waited.map((t) => `${t.name}: ${t.error}`)).toEqual([]);
}

export function cleanup(run: GraderRun): void {
  rmSync(run.dir, { recursive: true, force: true });
}

/** Process ids whose command line contains `marker` (Linux /proc; empty elsewhere). */
export function processesWith(marker: string): number[] {
  const found: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(marker)) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/**
 * Resident memory, in KiB, of a process and all its descendants (Linux /proc; 0 elsewhere),
 * leaving out any process whose command line contains `exclude` (and its descendants).
 */
export function treeRssKb(pid: number, exclude?: string): number {
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return 0;
  }
  for (const entry of entries) {
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const ppid = Number(/PPid:\s+(\d+)/.exec(status)?.[1]);
      if (exclude && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(exclude)) continue;
      rss.set(Number(entry), Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0));
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone while we looked.
    }
  }
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const next = stack.pop()!;
    total += rss.get(next) ?? 0;
    stack.push(...(children.get(next) ?? []));
  }
  return total;
}
