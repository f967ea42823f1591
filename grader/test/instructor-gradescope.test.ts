// `npm run gradescope`: the package is unpacked into a temporary root laid out as Gradescope lays
// out /autograder (source/, submission/, results/), and run_autograder runs there, as Gradescope
// runs it, against lab 1's reference solution, its starter and a submission with nothing to grade.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import os from 'node:os';
import { loadLab } from '../labs.js';
import { bwrapWorks } from '../sandbox/index.js';
import { digests, writeProbe } from './fixtures/sandbox/probe-submission.js';
import { readZip } from '../instructor/zip.js';
import { kitCopy, removeDir, runInstructor, solution, starter, tempDir } from './fixtures/instructor/submissions.js';
import { ms, root } from './support.js';

interface Results {
  score: number;
  max_score: number;
  output: string;
  tests: { name: string; number: string; score: number; max_score: number; status: string; output: string; visibility?: string }[];
}

const home = tempDir('gradescope');
// A run of lab 1 with its hidden phases is bounded by its phases' own deadlines, plus a minute
// to install and start; 100 s ran out once under a loaded CI run (a full suite, a --repeat 20 and
// lab 6 runs beside it) while the grader itself was still within its deadlines.
const lab1 = await loadLab(root, '01-echo', { hidden: true });
const boundMs = lab1.phases.reduce((sum, p) => sum + p.timeoutMs, 60_000);
const zip = path.join(home, 'autograder.zip');
let files: Record<string, Uint8Array>;

/** Puts `fill` in a fresh submission/, runs run_autograder, and reads results/results.json. */
async function grade(fill: (submission: string) => void): Promise<Results> {
  const submission = path.join(home, 'submission');
  const results = path.join(home, 'results');
  for (const dir of [submission, results]) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
  fill(submission);
  const run = await execa('bash', [path.join(home, 'source', 'run_autograder')], { env: { AUTOGRADER_ROOT: home }, reject: false, timeout: ms(boundMs) });
  expect(run.exitCode, String(run.stderr)).toBe(0);
  return JSON.parse(readFileSync(path.join(results, 'results.json'), 'utf8')) as Results;
}

beforeAll(async () => {
  // Packages are built from what is committed: from a committed copy of the kit as it is now.
  const kit = kitCopy(path.join(home, 'kit'));
  const made = await runInstructor('gradescope', ['--lab', '1', '--out', zip], { kit });
  expect(made.exitCode, String(made.stderr)).toBe(0);
  files = readZip(readFileSync(zip));
  for (const [name, data] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(home, 'source', name)), { recursive: true });
    writeFileSync(path.join(home, 'source', name), data);
  }
  // setup.sh would install the dependencies; the kit's own serve here.
  symlinkSync(path.join(root, 'node_modules'), path.join(home, 'source', 'node_modules'), 'junction');
}, ms(60_000));

afterAll(() => removeDir(home));

describe('npm run gradescope', { timeout: ms(boundMs + 10_000) }, () => {
  test("the package has Gradescope's two scripts at the top, the hidden tests, and no solution", async () => {
    const names = Object.keys(files);
    expect(names).toContain('setup.sh');
    expect(names).toContain('run_autograder');
    expect(names).toContain('labs/01-echo/hidden/lab.ts');
    expect(names).toContain('grader/instructor/autograder.ts');
    expect(names).toContain('starter/01-echo/server.ts');
    expect(names.filter((n) => n.startsWith('solutions/') || n.startsWith('grader/test/'))).toEqual([]);
    const setup = Buffer.from(files['setup.sh']!).toString('utf8');
    expect(setup).toMatch(/NODE_VERSION=\d+\.\d+\.\d+/);
    expect(setup).toContain('npm ci');
    for (const script of ['setup.sh', 'run_autograder']) {
      const check = await execa('bash', ['-n', path.join(home, 'source', script)], { reject: false });
      expect(check.exitCode, `${script}: ${check.stderr}`).toBe(0);
    }
  });

  test('the reference solution, uploaded as files: full marks, one test per phase, hidden ones after publishing', async () => {
    const lab = await loadLab(root, '01-echo', { hidden: true });
    const results = await grade((submission) => {
      for (const file of ['server.ts', 'client.ts']) cpSync(path.join(solution, file), path.join(submission, file));
    });
    expect(results.tests.map((t) => [t.number, t.name, t.max_score])).toEqual(lab.phases.map((p) => [p.id, `${p.id} ${p.name}`, p.points]));
    expect(results.max_score).toBe(lab.phases.reduce((sum, p) => sum + p.points, 0));
    expect(results.score).toBe(results.max_score);
    expect(results.tests.every((t) => t.status === 'passed' && t.score === t.max_score)).toBe(true);
    for (const t of results.tests) expect(t.visibility, t.number).toBe(lab.phases.find((p) => p.id === t.number)!.hidden ? 'after_published' : undefined);
    expect(results.output).toMatch(/Not in your submission, so the starter's were used: todo\.ts/);
  });

  test('the starter, uploaded as a repository: zero everywhere, and each failure names the TODO', async () => {
    const results = await grade((submission) => cpSync(starter, path.join(submission, 'starter', '01-echo'), { recursive: true }));
    expect(results.score).toBe(0);
    expect(results.max_score).toBe(results.tests.reduce((sum, t) => sum + t.max_score, 0));
    expect(results.tests.every((t) => t.status === 'failed' && t.score === 0)).toBe(true);
    expect(results.tests.find((t) => t.number === '1.1')!.output).toMatch(/phase 1\.1 not started: handleConnection in server\.ts is still a TODO/);
    expect(results.output).toMatch(/Graded: your repository's starter\/01-echo\//);
  });

  test.runIf(process.getuid?.() === 0 && bwrapWorks())('as root, a hostile submission keeps its honest score and reads, changes and reaches nothing', async () => {
    const source = path.join(home, 'source');
    const files = [
      path.join(source, 'labs/01-echo/hidden/1.6-other-payloads.test.ts'),
      path.join(source, 'labs/01-echo/tests/1.5-client.test.ts'),
      path.join(source, 'grader/results.ts'),
      path.join(source, 'run_autograder'),
      path.join(os.homedir(), `switchboard-probe-${path.basename(home)}.txt`),
    ];
    const before = digests(files);
    const results = await grade((submission) => writeProbe(submission, { files, folders: [source, os.homedir()], results: [path.join(home, 'results', 'results.json')] }));
    expect(results.score).toBe(results.max_score);
    expect(results.output).toMatch(/Your programs ran confined: user switchboard-grade-\d+ \(uid \d+\); sandbox bubblewrap; network loopback only/);
    expect(digests(files)).toEqual(before);
  });

  test('a submission with nothing to grade: zero, and what to hand in instead', async () => {
    const results = await grade((submission) => writeFileSync(path.join(submission, 'answer.txt'), 'see attached\n'));
    expect(results.score).toBe(0);
    expect(results.tests.length).toBeGreaterThan(5);
    expect(results.output).toMatch(/Nothing to grade: neither a student repository .* Submit your repository, or server\.ts and client\.ts/);
  });

  test('a lab whose starter holds an open lab\'s finished code is refused, and named when it is not open', async () => {
    // Refused before the package is built, so the kit as it is serves.
    const refused = await runInstructor('gradescope', ['--lab', '6', '--open', '5', '--out', path.join(home, 'lab6.zip')]);
    expect(refused.exitCode).toBe(1);
    expect(String(refused.stderr)).toBe(
      "gradescope: refused, as the package would hold a lab's solution:\n" +
        '  starter/06-replication holds the finished code of lab 5 (05-persistence), which is still open (--open 5)\n' +
        'build it once that lab has closed, or pass --include-earlier-solutions to build it anyway',
    );
    expect(existsSync(path.join(home, 'lab6.zip'))).toBe(false);
  }, ms(30_000));
});
