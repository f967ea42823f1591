// `npm run test:deep`: the checks too slow for `npm test`, run before a release (and weekly by
// .github/workflows/kit.yml). `npm test` keeps one solution run per lab and the fast mutants;
// this runs what those sample:
//
//   1. every kit mutant (`npm run mutants`), each of which must be caught;
//   2. every lab's reference solution `--solution --hidden --repeat N` (default 20), two labs at a
//      time side by side, so that each run has a second one beside it: full marks in every run;
//   3. lab 7's seeded nemesis on many seeds (`npm run nemesis -- --seeds S`, default 50).
//
//   npm run test:deep
//   npm run test:deep -- --repeat 5 --seeds 10 --labs 1,2,5
//   npm run test:deep -- --skip mutants,nemesis
//
// Each step prints as it goes; the summary at the end says which held, and the exit code is 0
// only when all did. It takes hours on a 2-core machine at the defaults (mutants about half an
// hour, the repeats one to two hours, the nemesis about 20 s a seed).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { labDirs } from '../grader/labs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const node = [process.execPath, path.join(root, 'grader', 'start.mjs')];

const { values } = parseArgs({
  options: {
    repeat: { type: 'string', default: '20' },
    seeds: { type: 'string', default: '50' },
    labs: { type: 'string' },
    skip: { type: 'string', default: '' },
  },
});
const repeat = Number(values.repeat);
const seeds = Number(values.seeds);
if (!Number.isInteger(repeat) || repeat < 1 || !Number.isInteger(seeds) || seeds < 0) {
  process.stderr.write('test:deep: --repeat wants a whole number of at least 1, --seeds a whole number\n');
  process.exit(2);
}
const skip = new Set(values.skip!.split(',').filter(Boolean));
const labs = labDirs(root)
  .map((dir) => Number(dir.slice(0, 2)))
  .filter((n) => !values.labs || values.labs.split(',').map(Number).includes(n));

interface Step {
  name: string;
  ok: boolean;
  seconds: number;
  detail: string;
}
const steps: Step[] = [];

async function step(name: string, run: () => Promise<{ ok: boolean; detail: string }>): Promise<void> {
  console.log(`\n== ${name}`);
  const started = Date.now();
  const { ok, detail } = await run();
  steps.push({ name, ok, seconds: Math.round((Date.now() - started) / 1000), detail });
  console.log(`== ${name}: ${ok ? 'held' : 'FAILED'} (${detail})`);
}

/** A script of the kit's, its output shown as it runs. */
async function script(file: string, args: string[]): Promise<{ ok: boolean; detail: string }> {
  const result = await execa(node[0]!, [...node.slice(1), path.join(root, file), ...args], { cwd: root, stdio: 'inherit', reject: false, env: { INIT_CWD: root } });
  return { ok: result.exitCode === 0, detail: `exit ${result.exitCode}` };
}

interface RepeatReport {
  score: number;
  maxScore: number;
  repeat?: { runs: number; fullMarks: number; failures: Record<string, number> };
}

/** `npm run lab N -- --solution --hidden --repeat R`, its repeat table read back. */
async function repeated(lab: number, scratch: string): Promise<{ ok: boolean; detail: string }> {
  const json = path.join(scratch, `lab-${lab}.json`);
  const args = [path.join(root, 'grader', 'cli.ts'), String(lab), '--solution', '--hidden', '--repeat', String(repeat), '--json', json];
  const result = await execa(node[0]!, [...node.slice(1), ...args], { cwd: root, reject: false, env: { NO_COLOR: '1', INIT_CWD: root } });
  try {
    const report = JSON.parse(readFileSync(json, 'utf8')) as RepeatReport;
    const runs = report.repeat?.runs ?? 1;
    const full = report.repeat?.fullMarks ?? (report.score === report.maxScore ? 1 : 0);
    const failing = Object.entries(report.repeat?.failures ?? {}).filter(([, n]) => n > 0).map(([id, n]) => `${id} failed ${n}×`);
    if (full < runs) console.log(String(result.stdout).split('\n').slice(-60).join('\n'));
    return { ok: full === runs, detail: `lab ${lab}: full marks in ${full} of ${runs}${failing.length ? `; ${failing.join(', ')}` : ''}` };
  } catch {
    return { ok: false, detail: `lab ${lab}: no report (exit ${result.exitCode}): ${String(result.stderr).slice(-500)}` };
  }
}

if (!skip.has('mutants')) await step('every kit mutant is caught', () => script('grader/test/mutants.ts', []));

if (!skip.has('repeat')) {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'switchboard-deep-'));
  try {
    // Two labs side by side: the longest (the last) beside the shortest, so the pairs end together.
    const order = [...labs];
    while (order.length > 0) {
      const pair = [order.pop()!, ...(order.length > 0 ? [order.shift()!] : [])];
      await step(`labs ${pair.join(' and ')} side by side, --solution --hidden --repeat ${repeat}`, async () => {
        const results = await Promise.all(pair.map((lab) => repeated(lab, scratch)));
        return { ok: results.every((r) => r.ok), detail: results.map((r) => r.detail).join('; ') };
      });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (!skip.has('nemesis') && seeds > 0) await step(`lab 7's nemesis on ${seeds} seeds`, () => script('bench/nemesis.ts', ['--seeds', String(seeds)]));

console.log('\nDeep checks:');
for (const s of steps) console.log(`  ${s.ok ? 'held  ' : 'FAILED'}  ${s.name}: ${s.detail} (${s.seconds} s)`);
process.exit(steps.every((s) => s.ok) ? 0 : 1);
