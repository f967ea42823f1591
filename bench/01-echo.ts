// Lab 1 and the launcher. Two figures:
// - wall time of a whole grader run of lab 1 (`npm run lab 1 -- --solution`, and the starter),
//   median of 5;
// - the cost of starting one TypeScript program, spawn to accepting TCP, through the grader's
//   launcher (esbuild once, then `node --enable-source-maps`) against plain `node` on the same
//   file compiled to JavaScript, and, for scale, `node --import tsx` on the .ts file. The runs of
//   the three are interleaved, so a busy moment of the machine hits them alike.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildProgram } from '../grader/harness/build.js';
import { claimPort } from '../grader/harness/ports.js';

export const title = 'lab 1 runs and the launcher';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timed(command: string, args: string[]): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve) => spawn(command, args, { cwd: root, stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } }).on('exit', () => resolve()));
  return performance.now() - started;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => (socket.destroy(), resolve(false)));
  });
}

/** Milliseconds from spawn until the server accepts a connection; `prepare` runs inside the timing. */
async function startup(makeCommand: () => Promise<string[]>): Promise<number> {
  const { port } = await claimPort('a bench server');
  const started = performance.now();
  const [file, ...args] = await makeCommand();
  const child = spawn(file!, [...args, '--port', String(port)], { stdio: 'ignore' });
  while (!(await accepts(port))) await new Promise((r) => setTimeout(r, 5));
  const elapsed = performance.now() - started;
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('exit', resolve));
  return elapsed;
}

export default async function bench(): Promise<string[]> {
  const lines: string[] = [];
  const solution: number[] = [];
  const starter: number[] = [];
  for (let i = 0; i < 5; i++) {
    solution.push(await timed(npm, ['run', '--silent', 'lab', '1', '--', '--solution']));
    starter.push(await timed(npm, ['run', '--silent', 'lab', '1']));
  }
  lines.push(`npm run lab 1 -- --solution: median ${(median(solution) / 1000).toFixed(2)} s of 5 (${solution.map((t) => (t / 1000).toFixed(2)).join(', ')})`);
  lines.push(`npm run lab 1 (starter):      median ${(median(starter) / 1000).toFixed(2)} s of 5 (${starter.map((t) => (t / 1000).toFixed(2)).join(', ')})`);

  const entry = path.join(root, 'solutions', '01-echo', 'server.ts');
  const buildDir = path.join(root, '.switchboard', 'build');
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-'));
  const plainJs = path.join(scratch, 'server.mjs');
  await build({ entryPoints: [entry], outfile: plainJs, bundle: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'silent' });
  await buildProgram(entry, buildDir);
  const launcher: number[] = [];
  const plain: number[] = [];
  const tsx: number[] = [];
  for (let i = 0; i < 7; i++) {
    // The launcher's cost includes its check that the cached build is up to date.
    launcher.push(await startup(async () => [process.execPath, '--enable-source-maps', await buildProgram(entry, buildDir)]));
    plain.push(await startup(async () => [process.execPath, plainJs]));
    tsx.push(await startup(async () => [process.execPath, '--import', 'tsx', entry]));
  }
  rmSync(scratch, { recursive: true, force: true });
  const ms = (values: number[]) => `${median(values).toFixed(0)} ms`;
  lines.push(`start to accepting TCP, median of 7: launcher ${ms(launcher)}, plain node on compiled JS ${ms(plain)}, node --import tsx ${ms(tsx)}`);
  lines.push(`launcher / plain node: ${(median(launcher) / median(plain)).toFixed(2)}x (target: within 1.5x); node --import tsx / plain node: ${(median(tsx) / median(plain)).toFixed(2)}x`);
  return lines;
}
