// `npm run nemesis`: lab 7's phase 7.5 (the seeded nemesis) on many seeds, one grader run per
// seed, to show that the reference solution is clean on all of them, or to hunt for a seed that
// breaks an implementation. Each run is `npm run lab 7 -- --phase 7.5` with SWITCHBOARD_SEED set,
// so a failing seed is replayed by that one command.
//
//   npm run nemesis                          seeds 1 to 200, the reference solution, one at a time
//   npm run nemesis -- --seeds 50 --from 1000 --jobs 2
//   npm run nemesis -- --impl path/to/dir    another implementation (or --cmd "python3 replica.py")
//   npm run nemesis -- --phase 7.7 --hidden  the hidden phase's schedules
//
// It prints a line per seed, then the failures (seed, test, first lines of the reason), the
// whole run's length, and its CPU time (Linux: the time of every process it started, read from
// /proc/self/stat once they have all been reaped; elsewhere not measured).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '200' },
    from: { type: 'string', default: '1' },
    jobs: { type: 'string', default: '1' },
    phase: { type: 'string', default: '7.5' },
    hidden: { type: 'boolean', default: false },
    impl: { type: 'string' },
    cmd: { type: 'string' },
  },
});
const count = Number(values.seeds);
const from = Number(values.from);
const jobs = Number(values.jobs);
if (![count, from, jobs].every((n) => Number.isInteger(n) && n >= 0) || jobs < 1) {
  process.stderr.write('nemesis: --seeds, --from and --jobs want whole numbers (--jobs at least 1)\n');
  process.exit(2);
}

interface Outcome {
  seed: number;
  passed: boolean;
  seconds: number;
  failures: string[];
}

/** CPU seconds of every reaped child of this process (Linux), or undefined. */
function childCpu(): number | undefined {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
    // After the name: state is field 3, so cutime (16) and cstime (17) are at 13 and 14.
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return undefined;
  }
}

async function grade(seed: number): Promise<Outcome> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-nemesis-'));
  const json = path.join(dir, 'results.json');
  const impl = values.impl ? ['--impl', path.resolve(values.impl)] : values.cmd ? ['--cmd', values.cmd] : ['--solution'];
  const args = [path.join(root, 'grader', 'start.mjs'), path.join(root, 'grader', 'cli.ts'), '7', ...impl, '--phase', values.phase!, ...(values.hidden ? ['--hidden'] : []), '--json', json];
  const started = Date.now();
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, SWITCHBOARD_SEED: String(seed), NO_COLOR: '1' }, stdio: 'ignore' });
    child.on('exit', (status) => resolve(status ?? 1));
  });
  const seconds = (Date.now() - started) / 1000;
  let failures: string[] = [];
  try {
    const report = JSON.parse(readFileSync(json, 'utf8')) as { phases: { tests: { name: string; state: string; error?: string }[] }[]; errors: string[] };
    failures = [...report.errors, ...report.phases.flatMap((p) => p.tests.filter((t) => t.state !== 'passed').map((t) => `${t.name}: ${(t.error ?? t.state).split('\n').slice(0, 4).join('\n    ')}`))];
  } catch {
    failures = [`the grader wrote no report (exit ${code})`];
  }
  rmSync(dir, { recursive: true, force: true });
  return { seed, passed: code === 0 && failures.length === 0, seconds, failures };
}

const seeds = Array.from({ length: count }, (_, i) => from + i);
const outcomes: Outcome[] = [];
const began = Date.now();
const cpuBefore = childCpu();
let next = 0;
await Promise.all(Array.from({ length: Math.min(jobs, seeds.length) }, async () => {
  while (next < seeds.length) {
    const seed = seeds[next++]!;
    const outcome = await grade(seed);
    outcomes.push(outcome);
    process.stdout.write(`seed ${seed}: ${outcome.passed ? 'clean' : 'FAILED'} (${outcome.seconds.toFixed(1)} s)  [${outcomes.length}/${seeds.length}]\n`);
    if (!outcome.passed) process.stdout.write(`    ${outcome.failures.join('\n    ')}\n`);
  }
}));
const failed = outcomes.filter((o) => !o.passed).sort((a, b) => a.seed - b.seed);
const wall = (Date.now() - began) / 1000;
const cpuAfter = childCpu();
process.stdout.write(`\nphase ${values.phase}${values.hidden ? ' (hidden)' : ''} on ${seeds.length} seeds (${from} to ${from + seeds.length - 1}): ${seeds.length - failed.length} clean, ${failed.length} failed\n`);
// The command that replays a seed grades what this run graded.
const graded = values.impl ? ` --impl ${values.impl}` : values.cmd ? ` --cmd ${JSON.stringify(values.cmd)}` : ' --solution';
for (const o of failed) process.stdout.write(`  SWITCHBOARD_SEED=${o.seed} npm run lab 7 --${graded} --phase ${values.phase}${values.hidden ? ' --hidden' : ''}\n    ${o.failures.join('\n    ')}\n`);
const mean = outcomes.reduce((sum, o) => sum + o.seconds, 0) / Math.max(1, outcomes.length);
const cpu = cpuBefore !== undefined && cpuAfter !== undefined ? `, CPU ${(cpuAfter - cpuBefore).toFixed(0)} s (${((cpuAfter - cpuBefore) / Math.max(1, outcomes.length)).toFixed(1)} s a seed)` : ', CPU not measured on this system';
process.stdout.write(`time: ${wall.toFixed(0)} s in all, ${mean.toFixed(1)} s a seed (${jobs} at a time)${cpu}; load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(', ')}\n`);
process.exitCode = failed.length > 0 ? 1 : 0;
