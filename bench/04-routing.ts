// Lab 4's cost: a full grader run of the reference solution starts about ninety server
// processes (eleven in the largest tests) and must stay well under 30 s on a 2-core machine.
// This runs the grader exactly as a user does, as a child process, and reports its wall time,
// the slowest tests, and, side by side in the same run, the starter's run (every test stops at
// its first step), which shows the fixed cost of a run.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const title = 'lab 4: wall time of a full grader run';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const budgetMs = 30_000;

interface Report {
  score: number;
  maxScore: number;
  durationMs: number;
  phases: { id: string; durationMs: number; tests: { name: string; durationMs: number }[] }[];
}

async function run(args: string[]): Promise<{ wallMs: number; report: Report }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-'));
  const json = path.join(dir, 'results.json');
  const started = Date.now();
  await execa(process.execPath, [path.join(root, 'grader', 'start.mjs'), path.join(root, 'grader', 'cli.ts'), '4', ...args, '--json', json], {
    cwd: root,
    env: { NO_COLOR: '1' },
    reject: false,
    timeout: 180_000,
  });
  const wallMs = Date.now() - started;
  const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
  rmSync(dir, { recursive: true, force: true });
  return { wallMs, report };
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export default async function bench(): Promise<string[]> {
  const solution = await run(['--solution']);
  const starter = await run([]);
  const tests = solution.report.phases.flatMap((p) => p.tests).sort((a, b) => b.durationMs - a.durationMs);
  const testTotal = tests.reduce((sum, t) => sum + t.durationMs, 0);
  return [
    `solution run: ${s(solution.wallMs)} wall (${solution.report.score}/${solution.report.maxScore}), ${((solution.wallMs / budgetMs) * 100).toFixed(0)}% of the 30 s budget`,
    `  tests: ${tests.length}, ${s(testTotal)} of test time in all, run in 2 workers; phases: ${solution.report.phases.map((p) => `${p.id} ${s(p.durationMs)}`).join(', ')}`,
    `  slowest: ${tests.slice(0, 3).map((t) => `${t.name.slice(0, 50)} (${s(t.durationMs)})`).join('; ')}`,
    `starter run: ${s(starter.wallMs)} wall (${starter.report.score}/${starter.report.maxScore}); solution/starter ${(solution.wallMs / starter.wallMs).toFixed(2)}x`,
  ];
}
