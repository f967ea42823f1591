// `npm run grade`: a batch of lab 1 submissions of every kind (a solution, a starter repository,
// one that does not compile, one missing a file, one that crashes at start, one that is not a
// submission at all), graded one at a time and four at a time, both batches at once: every
// submission gets its row, the rows say why points were lost, and the results do not depend on
// the parallelism.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { locate } from '../instructor/submissions.js';
import { loadLab } from '../labs.js';
import { expected, makeSubmissions, removeDir, runInstructor, solution, tempDir } from './fixtures/instructor/submissions.js';
import { cleanup, ms, root, runGrader } from './support.js';

interface BatchRow {
  name: string;
  layout: string;
  status: string;
  score: number;
  maxScore: number;
  points: Record<string, number>;
  reason: string;
  durationMs: number;
  report?: string;
}

interface Batch {
  schema: string;
  lab: { number: number; dir: string };
  maxScore: number;
  phases: { id: string; points: number; hidden: boolean }[];
  submissions: BatchRow[];
}

let dir: string;
/** Builds left by earlier batches that were killed before they could clean up: not this one's. */
let buildsBefore: Set<string>;
const batches: Record<string, { stdout: string; stderr: string; code: number | undefined; json: Batch; csv: string; reports: string }> = {};

async function gradeBatch(jobs: number) {
  const out = path.join(dir, `out-${jobs}`);
  const result = await runInstructor('grade', [
    '--submissions', path.join(dir, 'submissions'),
    '--lab', '1',
    '--jobs', String(jobs),
    '--csv', path.join(out, 'scores.csv'),
    '--json', path.join(out, 'scores.json'),
    '--reports', path.join(out, 'reports'),
  ], { timeoutMs: 280_000 });
  if (!existsSync(path.join(out, 'scores.json'))) throw new Error(`the batch wrote no JSON (exit ${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
  batches[jobs] = {
    stdout: String(result.stdout),
    stderr: String(result.stderr),
    code: result.exitCode,
    json: JSON.parse(readFileSync(path.join(out, 'scores.json'), 'utf8')) as Batch,
    csv: readFileSync(path.join(out, 'scores.csv'), 'utf8'),
    reports: path.join(out, 'reports'),
  };
}

/** The grader's cached builds of programs in a batch's temporary copies. */
function batchBuilds(): string[] {
  const builds = path.join(root, '.switchboard', 'build');
  if (!existsSync(builds)) return [];
  const stamps = readdirSync(builds).flatMap((d) => readdirSync(path.join(builds, d)).filter((f) => f.endsWith('.stamp.json')).map((f) => path.join(builds, d, f)));
  return stamps.filter((stamp) => readFileSync(stamp, 'utf8').includes('switchboard-grade-'));
}

/** What must not depend on the parallelism: everything but the timings and where the reports went. */
function comparable(batch: Batch) {
  return { ...batch, submissions: batch.submissions.map(({ durationMs: _d, report: _r, ...row }) => row) };
}

beforeAll(async () => {
  dir = tempDir('batch');
  buildsBefore = new Set(batchBuilds());
  makeSubmissions(path.join(dir, 'submissions'));
  // Both at once: the two batches also share the machine, and still may not disagree.
  await Promise.all([gradeBatch(1), gradeBatch(4)]);
  // Twelve gradings, two batches at once: on a loaded 2-core machine one submission has taken 70 s.
}, ms(300_000));

afterAll(() => removeDir(dir));

describe('npm run grade', () => {
  test('every submission gets its row, with the points, total and reason it must have', () => {
    const batch = batches[1]!.json;
    expect(batch.schema).toBe('switchboard/batch@1');
    expect(batch.maxScore).toBe(100);
    expect(batch.submissions.map((r) => r.name)).toEqual(Object.keys(expected).sort());
    for (const row of batch.submissions) {
      const want = expected[row.name]!;
      expect({ name: row.name, status: row.status, layout: row.layout, points: row.points }).toEqual({ name: row.name, status: want.status, layout: want.layout, points: want.points });
      expect(row.score, row.name).toBe(Object.values(want.points).reduce((a, b) => a + b, 0));
      expect(row.maxScore).toBe(100);
      expect(row.reason, row.name).toMatch(want.reason);
    }
    expect(batches[1]!.code).toBe(0);
  });

  test('the results do not depend on the parallelism: --jobs 1 and --jobs 4 agree', () => {
    expect(comparable(batches[4]!.json)).toEqual(comparable(batches[1]!.json));
    const withoutSeconds = (csv: string) => csv.split('\n').map((line) => line.replace(/,[\d.]+$/, ''));
    expect(withoutSeconds(batches[4]!.csv)).toEqual(withoutSeconds(batches[1]!.csv));
  });

  test('the CSV has a column per phase, the total, and the reason', () => {
    const lines = batches[1]!.csv.trim().split('\n');
    expect(lines[0]).toBe('submission,layout,status,1.1,1.2,1.3,1.4,1.5,total,max,reason,seconds');
    expect(lines).toHaveLength(Object.keys(expected).length + 1);
    expect(lines.find((l) => l.startsWith('missing-client,'))).toMatch(/^missing-client,lab folder,graded,15,25,20,20,0,80,100,missing client\.ts,[\d.]+$/);
    expect(lines.find((l) => l.startsWith('notes-only,'))).toMatch(/^notes-only,neither,not a submission,0,0,0,0,0,0,100,/);
  });

  test('the terminal table names every submission, and stray files are reported, not graded', () => {
    const { stdout, stderr } = batches[4]!;
    expect(stdout).toMatch(/^submission +1\.1 +1\.2 +1\.3 +1\.4 +1\.5 +total +reason$/m);
    expect(stdout).toMatch(/^solution-copy +15 +25 +20 +20 +20 +100\/100$/m);
    expect(stdout).toMatch(/^notes-only +- +- +- +- +- +- +not a submission: neither/m);
    expect(stdout).toMatch(/6 submission\(s\) in [\d.]+ s with --jobs 4/);
    expect(stderr).toContain('stray.zip');
    // Not on a terminal: one line per submission as it finishes.
    expect(stderr).toMatch(/^\[6\/6\] /m);
  });

  test("each graded submission keeps its report and logs, beside the class report; the batch's copies and builds are gone", () => {
    const reports = batches[1]!.reports;
    const graded = Object.keys(expected).filter((name) => expected[name]!.status === 'graded');
    expect(readdirSync(reports).sort()).toEqual([...graded, 'class-report.html'].sort());
    expect(readFileSync(path.join(reports, 'class-report.html'), 'utf8')).toMatch(/^<!doctype html>/);
    expect(batches[1]!.stdout).toMatch(/^class report: .*class-report\.html$/m);
    for (const name of graded) {
      expect(readFileSync(path.join(reports, name, 'report.txt'), 'utf8')).toMatch(/total/);
      expect(JSON.parse(readFileSync(path.join(reports, name, 'results.json'), 'utf8')).schema).toBe('switchboard/results@1');
    }
    expect(readdirSync(path.join(reports, 'missing-client', 'run', 'logs')).length).toBeGreaterThan(0);
    expect(batchBuilds().filter((stamp) => !buildsBefore.has(stamp))).toEqual([]);
  });

  test('usage errors say what is wrong and exit 2', async () => {
    const none = await runInstructor('grade', ['--lab', '1']);
    expect(none.exitCode).toBe(2);
    expect(String(none.stderr)).toMatch(/which submissions\?/);
    const noLab = await runInstructor('grade', ['--submissions', dir, '--lab', '99']);
    expect(noLab.exitCode).toBe(2);
    expect(String(noLab.stderr)).toMatch(/there is no lab "99"/);
  });
});

describe('recognising a submission', () => {
  test('a repository, a lab folder, either inside one wrapping folder, or neither', async () => {
    const lab = await loadLab(root, '01-echo');
    const base = path.join(dir, 'layouts');
    cpSync(solution, path.join(base, 'folder'), { recursive: true });
    cpSync(solution, path.join(base, 'wrapped', 'switchboard-main', 'starter', '01-echo'), { recursive: true });
    mkdirSync(path.join(base, 'wrapped', '__MACOSX'));
    mkdirSync(path.join(base, 'two-folders', 'a'), { recursive: true });
    cpSync(solution, path.join(base, 'two-folders', 'b'), { recursive: true });
    mkdirSync(path.join(base, 'empty'));
    expect(locate(path.join(base, 'folder'), lab)).toEqual({ layout: 'lab folder', folder: path.join(base, 'folder'), missing: [] });
    expect(locate(path.join(base, 'wrapped'), lab)).toEqual({ layout: 'repository', folder: path.join(base, 'wrapped', 'switchboard-main', 'starter', '01-echo'), missing: [] });
    expect(locate(path.join(base, 'two-folders'), lab)).toMatchObject({ layout: 'neither', reason: expect.stringMatching(/it holds a, b$/) });
    expect(locate(path.join(base, 'empty'), lab)).toMatchObject({ layout: 'neither', reason: expect.stringMatching(/it is empty$/) });
  });
});

describe('npm run lab -- --impl', () => {
  test('a copy of the student repository is graded from its starter folder', async () => {
    const repository = path.join(dir, 'submissions', 'starter-repository');
    const run = await runGrader(['1', '--impl', repository, '--phase', '1.1']);
    expect((run.json as unknown as { graded: string }).graded.split(path.sep).join('/')).toMatch(/starter-repository\/starter\/01-echo$/);
    expect(run.json.phases[0]!.tests[0]!.diagnostics?.todo).toMatch(/handleConnection in server\.ts is still a TODO/);
    cleanup(run);
  });
});
