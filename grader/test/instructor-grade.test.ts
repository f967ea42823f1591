// `npm run grade`: a batch of lab 1 submissions of every kind (a solution, a starter repository,
// one that does not compile, one missing a file, one that crashes at start, one that is not a
// submission at all), graded four at a time, and at the same time as a class in two shards, each
// one at a time, as a CI matrix runs them, then merged. Every submission gets its row, the rows
// say why points were lost, the merge holds the rows the single batch gives (so neither the
// parallelism nor the split changes a result), and the class report shows them in Chromium.
// One grading of each kind serves every test here: a batch is what costs.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Row } from '../instructor/rows.js';
import { classDigest } from '../instructor/shard.js';
import { locate } from '../instructor/submissions.js';
import { loadLab } from '../labs.js';
import { openPage, screenshot } from './browser.js';
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
  protections?: { confined: boolean; user: string; sandbox: string; network: string; limits: string; missing: string[] };
}

let dir: string;
/** Builds left by earlier batches that were killed before they could clean up: not this one's. */
let buildsBefore: Set<string>;
let batch: { stdout: string; stderr: string; code: number | undefined; json: Batch; csv: string; reports: string };
/** Where the shards wrote their results, and the merge its CSV, JSON and class report. */
let artifacts: string;
const shardOut = (i: number) => path.join(artifacts, `shard-${i}`);
let merged: { stdout: string; code?: number; json: Batch; csv: string };
const screenshots = path.join(root, '.switchboard', 'screenshots');

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
  batch = {
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

/**
 * What must not depend on the parallelism or the split: everything but the timings, where the
 * reports went, and the protections, which name each grader's own user (checked on their own).
 */
function comparable(batch: Batch) {
  const { protections: _p, ...rest } = batch;
  return { ...rest, submissions: batch.submissions.map(({ durationMs: _d, report: _r, ...row }) => row) };
}

/** The class in two shards, at once and one submission at a time each, then the merge. */
async function gradeShards() {
  const shards = await Promise.all(
    [1, 2].map((i) =>
      runInstructor('grade', ['--submissions', path.join(dir, 'submissions'), '--lab', '1', '--jobs', '1', '--shard', `${i}/2`, '--json', path.join(shardOut(i), 'scores.json'), '--reports', path.join(shardOut(i), 'reports')], {
        timeoutMs: 280_000,
      }),
    ),
  );
  for (const shard of shards) expect(shard.exitCode, `${shard.stdout}\n${shard.stderr}`).toBe(0);
  const merge = await runInstructor('grade', ['--merge', artifacts, '--csv', path.join(artifacts, 'scores.csv'), '--json', path.join(artifacts, 'scores.json')]);
  expect(merge.exitCode, `${merge.stdout}\n${merge.stderr}`).toBe(0);
  merged = {
    stdout: String(merge.stdout),
    code: merge.exitCode,
    json: JSON.parse(readFileSync(path.join(artifacts, 'scores.json'), 'utf8')) as Batch,
    csv: readFileSync(path.join(artifacts, 'scores.csv'), 'utf8'),
  };
}

beforeAll(async () => {
  dir = tempDir('batch');
  artifacts = path.join(dir, 'artifacts');
  buildsBefore = new Set(batchBuilds());
  makeSubmissions(path.join(dir, 'submissions'));
  // Both at once: the batch and the shards also share the machine, and still may not disagree.
  await Promise.all([gradeBatch(4), gradeShards()]);
  // Twelve gradings, six at a time: on a loaded 2-core machine one submission has taken 70 s.
}, ms(300_000));

afterAll(() => removeDir(dir));

describe('npm run grade', () => {
  test('every submission gets its row, with the points, total and reason it must have', () => {
    const json = batch.json;
    expect(json.schema).toBe('switchboard/batch@1');
    expect(json.maxScore).toBe(100);
    expect(json.submissions.map((r) => r.name)).toEqual(Object.keys(expected).sort());
    for (const row of json.submissions) {
      const want = expected[row.name]!;
      expect({ name: row.name, status: row.status, layout: row.layout, points: row.points }).toEqual({ name: row.name, status: want.status, layout: want.layout, points: want.points });
      expect(row.score, row.name).toBe(Object.values(want.points).reduce((a, b) => a + b, 0));
      expect(row.maxScore).toBe(100);
      expect(row.reason, row.name).toMatch(want.reason);
    }
    expect(batch.code).toBe(0);
  });

  test('the results do not depend on the parallelism or the split: --jobs 4 and two shards at --jobs 1 agree', () => {
    expect(comparable(merged.json)).toEqual(comparable(batch.json));
    const withoutSeconds = (csv: string) => csv.split('\n').map((line) => line.replace(/,[\d.]+$/, ''));
    expect(withoutSeconds(merged.csv)).toEqual(withoutSeconds(batch.csv));
    // The merge keeps what confined the class, as each shard recorded it.
    expect(batch.json.protections).toBeDefined();
    expect(merged.json.protections?.confined).toBe(batch.json.protections!.confined);
    expect(merged.json.protections?.limits).toBe(batch.json.protections!.limits);
  });

  test('the CSV has a column per phase, the total, and the reason', () => {
    const lines = batch.csv.trim().split('\n');
    expect(lines[0]).toBe('submission,layout,status,1.1,1.2,1.3,1.4,1.5,total,max,reason,seconds');
    expect(lines).toHaveLength(Object.keys(expected).length + 1);
    expect(lines.find((l) => l.startsWith('missing-client,'))).toMatch(/^missing-client,lab folder,graded,15,25,20,20,0,80,100,missing client\.ts,[\d.]+$/);
    expect(lines.find((l) => l.startsWith('notes-only,'))).toMatch(/^notes-only,neither,not a submission,0,0,0,0,0,0,100,/);
  });

  test('the terminal table names every submission, and stray files are reported, not graded', () => {
    const { stdout, stderr } = batch;
    expect(stdout).toMatch(/^submission +1\.1 +1\.2 +1\.3 +1\.4 +1\.5 +total +reason$/m);
    expect(stdout).toMatch(/^solution-copy +15 +25 +20 +20 +20 +100\/100$/m);
    expect(stdout).toMatch(/^notes-only +- +- +- +- +- +- +not a submission: neither/m);
    expect(stdout).toMatch(/6 submission\(s\) in [\d.]+ s with --jobs 4/);
    expect(stderr).toContain('stray.zip');
    // Not on a terminal: one line per submission as it finishes.
    expect(stderr).toMatch(/^\[6\/6\] /m);
  });

  test("each graded submission keeps its report and logs, beside the class report; the batch's copies and builds are gone", () => {
    const reports = batch.reports;
    const graded = Object.keys(expected).filter((name) => expected[name]!.status === 'graded');
    expect(readdirSync(reports).sort()).toEqual([...graded, 'class-report.html'].sort());
    expect(readFileSync(path.join(reports, 'class-report.html'), 'utf8')).toMatch(/^<!doctype html>/);
    expect(batch.stdout).toMatch(/^class report: .*class-report\.html$/m);
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

describe('npm run grade -- --shard, then --merge', () => {
  test('each shard graded its part of the split, and together they graded every submission once', () => {
    const names = Object.keys(expected).sort();
    const shards = [1, 2].map((i) => JSON.parse(readFileSync(path.join(shardOut(i), 'scores.json'), 'utf8')) as { shard: object; submissions: Row[] });
    for (const [i, shard] of shards.entries()) {
      expect(shard.shard).toEqual({ index: i + 1, count: 2, of: names.length, class: classDigest(names) });
      expect(shard.submissions.map((r) => r.name)).toEqual(names.filter((_, j) => j % 2 === i));
    }
  });

  test('the merge has every row with the points and reason a single batch gives', () => {
    const batch = JSON.parse(readFileSync(path.join(artifacts, 'scores.json'), 'utf8')) as { shard?: object; submissions: Row[] };
    expect(batch.shard).toBeUndefined();
    expect(batch.submissions.map((r) => r.name)).toEqual(Object.keys(expected).sort());
    for (const r of batch.submissions) {
      expect(r.points, r.name).toEqual(expected[r.name]!.points);
      expect(r.reason, r.name).toMatch(expected[r.name]!.reason);
    }
    const csv = readFileSync(path.join(artifacts, 'scores.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(Object.keys(expected).length + 1);
    expect(merged.stdout).toMatch(/6 submission\(s\) merged from 2 shards; 5 graded/);
    expect(merged.stdout).toMatch(/^class report: .*class-report\.html$/m);
  });

  test('the class report in Chromium: histogram, pass rates, first failures, a row per submission linking to its report', async (context) => {
    const file = path.join(artifacts, 'class-report.html');
    const { page, network } = await openPage(context);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    await page.goto(`file://${file}`);

    const bins = await page.locator('.histogram .bin').evaluateAll((els) => els.map((el) => Number((el as HTMLElement).dataset.count)));
    expect(bins).toHaveLength(11);
    expect(bins.reduce((a, b) => a + b, 0)).toBe(5);
    expect(bins[10]).toBe(1); // solution-copy: full marks
    const phases = await page.locator('#phases tbody tr').evaluateAll((els) => els.map((el) => [(el as HTMLElement).dataset.phase, Number((el as HTMLElement).dataset.passed)]));
    const passed = (id: string) => Object.values(expected).filter((e) => e.status === 'graded' && e.points[id]! > 0).length;
    expect(phases).toEqual(['1.1', '1.2', '1.3', '1.4', '1.5'].map((id) => [id, passed(id)]));
    expect(await page.locator('#failures tbody tr').count()).toBeGreaterThanOrEqual(4);
    await expect(page.locator('#failures').textContent()).resolves.toMatch(/missing client\.ts/);

    const rows = page.locator('#submissions tbody tr');
    expect(await rows.count()).toBe(6);
    // Each graded submission's link opens its report, now and after the folder moves (an artifact downloaded elsewhere).
    const links = await page.locator('#submissions a').evaluateAll((els) => els.map((el) => (el as HTMLAnchorElement).href));
    expect(links).toHaveLength(5);
    for (const link of links) expect(existsSync(fileURLToPath(link)), link).toBe(true);

    // Sorting by total puts the full marks last, then first; the filter leaves the matching rows.
    await page.locator('#submissions th', { hasText: 'total' }).click();
    expect(await rows.last().getAttribute('data-name')).toBe('solution-copy');
    await page.locator('#submissions th', { hasText: 'total' }).click();
    expect(await rows.first().getAttribute('data-name')).toBe('solution-copy');
    await page.fill('#filter', 'missing client');
    expect(await page.locator('#submissions tbody tr:visible').count()).toBe(1);
    await page.fill('#filter', '');

    await screenshot(page, screenshots, 'class-report');
    expect(network).toEqual([]);
    expect(errors).toEqual([]);
  }, ms(90_000));

  test('the report and its links survive a move of the whole folder', async () => {
    const moved = path.join(dir, 'moved');
    cpSync(artifacts, moved, { recursive: true });
    rmSync(path.join(moved, 'class-report.html'));
    const again = await runInstructor('grade', ['--merge', moved]);
    expect(again.exitCode, String(again.stderr)).toBe(0);
    const html = readFileSync(path.join(moved, 'class-report.html'), 'utf8');
    const hrefs = [...html.matchAll(/href="([^"#][^"]*)"/g)].map((m) => decodeURIComponent(m[1]!.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c)))));
    expect(hrefs).toHaveLength(5);
    for (const href of hrefs) expect(existsSync(path.join(moved, href)), href).toBe(true);
  }, ms(60_000));
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
