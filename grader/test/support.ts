// Running the grader the way a user does, from the kit's own tests: as a separate process,
// through the same entry point as `npm run lab`, with its JSON report read back.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface GraderRun {
  code: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  json: {
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

/** Runs `npm run lab -- <args>` (as `node --import tsx grader/cli.ts`) and reads its JSON report. */
export async function runGrader(args: string[], options: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<GraderRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-test-'));
  const json = path.join(dir, 'results.json');
  const started = Date.now();
  const result = await execa(process.execPath, ['--import', 'tsx', path.join(root, 'grader', 'cli.ts'), ...args, '--json', json], {
    cwd: options.cwd ?? root,
    env: { NO_COLOR: '1', INIT_CWD: options.cwd ?? root, ...options.env },
    reject: false,
    timeout: options.timeoutMs ?? 110_000,
    all: false,
  });
  const durationMs = Date.now() - started;
  let parsed: GraderRun['json'];
  try {
    parsed = JSON.parse(readFileSync(json, 'utf8')) as GraderRun['json'];
  } catch {
    throw new Error(`the grader wrote no JSON report (exit ${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
  }
  return { code: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr), durationMs, json: parsed, dir };
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
