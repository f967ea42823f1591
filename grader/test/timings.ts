// Where the kit's own test time goes. `npm run test:timings` runs the suite (`npm test`'s vitest
// run) with vitest's JSON reporter and writes two files from it:
//   grader/test/timings.json  each test file's wall time, which grader/test/sequencer.ts reads to
//                             start the longest files first, so that both workers stay busy;
//   docs/test-timings.md      the same as a table, with the slowest tests, for whoever wants to
//                             know what a change costs.
// `--from REPORT.json` builds them from a report already written (CI's, say) instead of running.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const timingsFile = path.join(root, 'grader', 'test', 'timings.json');

interface Report {
  startTime: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: {
    name: string;
    startTime: number;
    endTime: number;
    status: string;
    assertionResults: { fullName: string; status: string; duration?: number }[];
  }[];
}

export interface Timings {
  /** When and where they were measured, and how busy the machine was (1-minute load average). */
  measured: { date: string; cores: number; load?: Load; wallSeconds: number };
  /** Test file (relative to the kit) to its wall time in seconds. */
  files: Record<string, number>;
  /** Test file to the CPU seconds it cost, with every process it started (Linux only). */
  cpu?: Record<string, number>;
}

/**
 * CPU seconds the whole machine has spent busy since it booted (Linux /proc/stat: user, nice,
 * system, irq, softirq, steal), or undefined elsewhere. Over a run on an otherwise idle machine
 * this is the suite's cost, confined grader runs included: their processes end in a pid namespace
 * of their own, and a file's own count (cpu-usage.ts) never reaps them.
 */
function machineCpuSeconds(): number | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return [0, 1, 2, 5, 6, 7].reduce((sum, i) => sum + (fields[i] ?? 0), 0) / 100;
  } catch {
    return undefined;
  }
}

/** Runs the suite; samples the load average as it goes, since the machine may be shared. */
async function run(): Promise<{ report: Report; load: Load; cpu: Record<string, number> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-timings-'));
  const out = path.join(dir, 'report.json');
  // Each test file writes its CPU time here (grader/test/cpu-usage.ts).
  const cpuDir = path.join(dir, 'cpu');
  mkdirSync(cpuDir);
  const samples: number[] = [];
  const machineAtStart = machineCpuSeconds();
  const sampler = setInterval(() => samples.push(os.loadavg()[0] ?? 0), 10_000);
  try {
    const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
    const child = spawn(process.execPath, [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, SWITCHBOARD_TIMINGS_DIR: cpuDir },
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    // The suite exits non-zero when a test fails; its timings are still worth reading.
    if (code !== 0) console.error('some tests failed; the timings below still hold');
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    const cpu: Record<string, number> = {};
    for (const name of readdirSync(cpuDir)) {
      const { file, cpuSeconds, wallSeconds } = JSON.parse(readFileSync(path.join(cpuDir, name), 'utf8')) as { file: string; cpuSeconds: number; wallSeconds?: number };
      cpu[file] = (cpu[file] ?? 0) + cpuSeconds;
      // The file's whole time, its beforeAll hooks included, where the report's is shorter.
      const result = report.testResults.find((r) => r.name === file);
      if (result && wallSeconds !== undefined && wallSeconds * 1000 > result.endTime - result.startTime) result.startTime = result.endTime - wallSeconds * 1000;
    }
    const machineAtEnd = machineCpuSeconds();
    const machine = machineAtStart !== undefined && machineAtEnd !== undefined ? Math.round(machineAtEnd - machineAtStart) : undefined;
    return { report, cpu, load: { mean: samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length), max: Math.max(0, ...samples), machineCpuSeconds: machine } };
  } finally {
    clearInterval(sampler);
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Load {
  mean: number;
  max: number;
  /** CPU seconds of the whole machine over the run (Linux). */
  machineCpuSeconds?: number;
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

export function summarise(report: Report, load?: Load, cpu: Record<string, number> = {}): { timings: Timings; table: string } {
  const files = report.testResults
    .map((f) => ({ file: path.relative(root, f.name), wall: seconds(f.endTime - f.startTime), cpu: cpu[f.name], tests: f.assertionResults }))
    .sort((a, b) => b.wall - a.wall);
  const end = Math.max(...report.testResults.map((f) => f.endTime));
  const wallSeconds = seconds(end - report.startTime);
  const busy = files.reduce((sum, f) => sum + f.wall, 0);
  const timings: Timings = {
    measured: { date: new Date(report.startTime).toISOString().slice(0, 10), cores: os.cpus().length, load, wallSeconds },
    files: Object.fromEntries(files.map((f) => [f.file, f.wall])),
    ...(Object.keys(cpu).length ? { cpu: Object.fromEntries(files.map((f) => [f.file, Math.round((f.cpu ?? 0) * 10) / 10])) } : {}),
  };
  const cpuTotal = files.reduce((sum, f) => sum + (f.cpu ?? 0), 0);
  const withCpu = Object.keys(cpu).length > 0;
  const slowest = files
    .flatMap((f) => f.tests.map((t) => ({ file: f.file, name: t.fullName, s: seconds(t.duration ?? 0), status: t.status })))
    .sort((a, b) => b.s - a.s)
    .slice(0, 25);
  const lines = [
    '# Where the kit\'s test time goes',
    '',
    'Written by `npm run test:timings` (grader/test/timings.ts); the sequencer',
    '(grader/test/sequencer.ts) starts the longest files first from `grader/test/timings.json`.',
    '',
    `Measured ${timings.measured.date} on ${timings.measured.cores} cores${load ? `, load average ${load.mean.toFixed(1)} on the whole (at most ${load.max.toFixed(1)})` : ''}:`,
    `${wallSeconds} s wall for ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped;`,
    `${seconds(busy * 1000)} s of file time in all (the sum over files, spread over the workers)${withCpu ? `, ${Math.round(cpuTotal)} s of CPU counted per file (each file's own and its processes', confined grader runs not included)` : ''}${load?.machineCpuSeconds !== undefined ? `; the whole machine spent ${load.machineCpuSeconds} s of CPU over the run` : ''}.`,
    '',
    withCpu ? '| file | wall (s) | CPU (s) | tests |' : '| file | wall (s) | tests |',
    withCpu ? '|---|---:|---:|---:|' : '|---|---:|---:|',
    ...files.map((f) => (withCpu ? `| ${f.file} | ${f.wall} | ${Math.round((f.cpu ?? 0) * 10) / 10} | ${f.tests.length} |` : `| ${f.file} | ${f.wall} | ${f.tests.length} |`)),
    '',
    '## The 25 slowest tests',
    '',
    '| test | file | s |',
    '|---|---|---:|',
    ...slowest.map((t) => `| ${t.name.replace(/\|/g, '\\|')}${t.status === 'passed' ? '' : ` (${t.status})`} | ${t.file} | ${t.s} |`),
    '',
  ];
  return { timings, table: lines.join('\n') };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--from');
  const from = at > 0 ? process.argv[at + 1] : undefined;
  const { report, load, cpu } = from ? { report: JSON.parse(readFileSync(from, 'utf8')) as Report, load: undefined, cpu: {} } : await run();
  const { timings, table } = summarise(report, load, cpu);
  writeFileSync(timingsFile, `${JSON.stringify(timings, null, 2)}\n`);
  writeFileSync(path.join(root, 'docs', 'test-timings.md'), table);
  console.log(table);
}
