// `npm run stress`: the grader must never take points for nothing, so grade reference solutions
// while the machine is as crowded as a student's or a grading server can make it: two grader
// runs of lab 4 side by side (each `--repeat N`, eleven servers a test) and, at the same time, a
// batch of lab 3 submissions graded with `--jobs 2`. Every run must score full marks: a lost
// point here is the grader's fault (a port handed out twice, a deadline too tight for a loaded
// machine), never the solution's.
//
//   npm run stress                     # lab 4 twice, --repeat 10 each, plus a lab 3 batch of 4
//   npm run stress -- --repeat 3 --lab 2 --batch-lab 1 --batch 2
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { findLab } from '../grader/labs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface StressOptions {
  lab: string;
  repeat: number;
  /** Grader runs of `lab` side by side. */
  side: number;
  batchLab: string;
  /** Copies of the batch lab's solution in the batch; 0 for no batch. */
  batch: number;
  phases?: string[];
  /** A bound on each grader process (none by default). */
  timeoutMs?: number;
}

export interface StressResult {
  lines: string[];
  /** Runs and submissions that did not score full marks. */
  lost: number;
}

interface RepeatReport {
  score: number;
  maxScore: number;
  repeat?: { runs: number; fullMarks: number; failures: Record<string, number> };
}

interface BatchReport {
  submissions: { name: string; score: number; maxScore: number; reason?: string }[];
}

export async function stress(options: StressOptions): Promise<StressResult> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'switchboard-stress-'));
  const node = [process.execPath, path.join(root, 'grader', 'start.mjs')];
  const env = { NO_COLOR: '1', INIT_CWD: root };
  const started = Date.now();
  try {
    const phaseArgs = (options.phases ?? []).flatMap((p) => ['--phase', p]);
    const sides = Array.from({ length: options.side }, (_, i) => {
      const json = path.join(scratch, `side-${i + 1}.json`);
      const args = [...node.slice(1), path.join(root, 'grader', 'cli.ts'), options.lab, '--solution', '--repeat', String(options.repeat), ...phaseArgs, '--json', json];
      return { json, run: execa(node[0]!, args, { cwd: root, env, reject: false, timeout: options.timeoutMs }) };
    });
    let batch: { json: string; run: ReturnType<typeof execa> } | undefined;
    if (options.batch > 0) {
      const dir = findLab(root, options.batchLab);
      if (!dir) throw new Error(`there is no lab "${options.batchLab}"`);
      const submissions = path.join(scratch, 'submissions');
      for (let i = 1; i <= options.batch; i++) cpSync(path.join(root, 'solutions', dir), path.join(submissions, `student-${i}`), { recursive: true });
      const json = path.join(scratch, 'batch.json');
      const args = [...node.slice(1), path.join(root, 'grader', 'instructor', 'grade.ts'), '--submissions', submissions, '--lab', options.batchLab, '--jobs', '2', '--json', json];
      batch = { json, run: execa(node[0]!, args, { cwd: root, env, reject: false, timeout: options.timeoutMs }) };
    }
    const lines: string[] = [];
    let lost = 0;
    for (const [i, side] of sides.entries()) {
      const result = await side.run;
      let report: RepeatReport;
      try {
        report = JSON.parse(readFileSync(side.json, 'utf8')) as RepeatReport;
      } catch {
        lines.push(`lab ${options.lab}, run ${i + 1}: no report (exit ${result.exitCode}): ${String(result.stderr).slice(-2000)}`);
        lost += options.repeat;
        continue;
      }
      const runs = report.repeat?.runs ?? 1;
      const full = report.repeat?.fullMarks ?? (report.score === report.maxScore ? 1 : 0);
      lost += runs - full;
      const failing = Object.entries(report.repeat?.failures ?? {}).filter(([, n]) => n > 0).map(([id, n]) => `${id} failed ${n}×`);
      lines.push(`lab ${options.lab} --solution --repeat ${runs}, side ${i + 1} of ${options.side}: full marks in ${full} of ${runs} runs${failing.length ? ` (${failing.join(', ')})` : ''}`);
      if (full < runs) lines.push(String(result.stdout).split('\n').slice(-60).join('\n'));
    }
    if (batch) {
      await batch.run;
      const report = JSON.parse(readFileSync(batch.json, 'utf8')) as BatchReport;
      const short = report.submissions.filter((s) => s.score !== s.maxScore);
      lost += short.length;
      lines.push(`lab ${options.batchLab} batch of ${report.submissions.length} solutions, --jobs 2: ${report.submissions.length - short.length} at full marks`);
      for (const s of short) lines.push(`  ${s.name}: ${s.score}/${s.maxScore}: ${s.reason ?? ''}`);
    }
    lines.push(`${lost === 0 ? 'no points lost' : `${lost} run(s) lost points`} in ${((Date.now() - started) / 1000).toFixed(0)} s (load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`);
    return { lines, lost };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      lab: { type: 'string', default: '4' },
      repeat: { type: 'string', default: '10' },
      side: { type: 'string', default: '2' },
      'batch-lab': { type: 'string', default: '3' },
      batch: { type: 'string', default: '4' },
      phase: { type: 'string', multiple: true },
    },
  });
  const result = await stress({
    lab: values.lab!,
    repeat: Number(values.repeat),
    side: Number(values.side),
    batchLab: values['batch-lab']!,
    batch: Number(values.batch),
    phases: values.phase,
  });
  process.stdout.write(`${result.lines.join('\n')}\n`);
  process.exit(result.lost === 0 ? 0 : 1);
}
