// A class graded in shards and merged: the split is stable and whole, two shards graded at once
// merge into the same rows a single batch gives, the merge refuses a class with a shard missing
// or a submission twice, and the class report (one HTML page) shows the histogram, the phases'
// pass rates, the common first failures and a row per submission linking to its report, in
// headless Chromium, loading nothing from the network.
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { classReportHtml, commonFailures, failureGroup, histogram, phaseRates } from '../instructor/class-report.js';
import { toBatchJson, type BatchLab, type Row } from '../instructor/rows.js';
import { classDigest, parseShard, shardNames } from '../instructor/shard.js';
import { openPage, screenshot } from './browser.js';
import { expected, makeSubmissions, removeDir, runInstructor, tempDir } from './fixtures/instructor/submissions.js';
import { ms, root } from './support.js';

const dir = tempDir('class');
const screenshots = path.join(root, '.switchboard', 'screenshots');

const lab: BatchLab = {
  number: 1,
  dir: '01-echo',
  title: 'TCP echo server and client',
  phases: [
    { id: '1.1', name: 'echo', points: 40 },
    { id: '1.2', name: 'exact bytes', points: 60 },
  ],
};

function row(name: string, points: Record<string, number>, reason = '', status: Row['status'] = 'graded'): Row {
  const score = Object.values(points).reduce((a, b) => a + b, 0);
  return { name, layout: 'lab folder', status, score, maxScore: 100, points, reason, durationMs: 1000 };
}

describe('splitting a class into shards', () => {
  const names = Array.from({ length: 200 }, (_, i) => `student-${String(i).padStart(3, '0')}`);

  test('every submission is in exactly one shard, whatever the order they are listed in, and the shards are even', () => {
    const split = (list: string[]) => Array.from({ length: 8 }, (_, i) => shardNames(list, { index: i + 1, count: 8 }));
    const shards = split(names);
    expect(shards.flat().sort()).toEqual([...names].sort());
    expect(split([...names].reverse())).toEqual(shards);
    const sizes = shards.map((s) => s.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(shardNames(['c', 'a', 'b', 'd', 'e'], { index: 2, count: 2 })).toEqual(['b', 'd']);
    expect(shardNames(['a'], { index: 3, count: 4 })).toEqual([]);
    // A name that macOS lists decomposed is dealt, and counted in the class, as the composed one.
    const composed = ['José', 'Ana', 'Zoë'];
    const decomposed = composed.map((n) => n.normalize('NFD'));
    expect(shardNames(decomposed, { index: 1, count: 2 }).map((n) => n.normalize('NFC'))).toEqual(shardNames(composed, { index: 1, count: 2 }));
    expect(classDigest(decomposed)).toBe(classDigest(composed));
    expect(classDigest([...composed, 'late'])).not.toBe(classDigest(composed));
  });

  test('--shard is I/N with 1 <= I <= N', () => {
    expect(parseShard('2/8')).toEqual({ index: 2, count: 8 });
    for (const bad of ['0/8', '9/8', '2', '2/0', 'a/b', '-1/2']) expect(parseShard(bad)).toMatch(/--shard wants I\/N/);
  });
});

describe('the class report, from rows', () => {
  const rows = [
    row('ana', { '1.1': 40, '1.2': 60 }),
    row('ben', { '1.1': 40, '1.2': 0 }, '1.2 a 1 MiB payload: expected 1048576 bytes, got 65536'),
    row('cy', { '1.1': 40, '1.2': 0 }, '1.2 a 1 MiB payload: expected 1048576 bytes, got 131072'),
    row('dee', { '1.1': 0, '1.2': 0 }, 'phase 1.1 not started: handleConnection in server.ts is still a TODO'),
    row('eve', { '1.1': 0, '1.2': 0 }, 'neither a student repository nor a copy', 'not a submission'),
    row('<b>mallory</b>', { '1.1': 0, '1.2': 0 }, '1.1 echo: expected "hi", got "<script>alert(1)</script>"'),
  ];

  test('groups first failures by message, numbers and quoted text set aside, most common first', () => {
    expect(failureGroup('1.2 a 1 MiB payload: expected 1048576 bytes, got 65536')).toBe('1.2 a 1 MiB payload: expected N bytes, got N');
    expect(failureGroup('1.1 echo: expected "hi", got "ho"')).toBe('1.1 echo: expected "…", got "…"');
    const groups = commonFailures(rows);
    expect(groups[0]).toEqual({ message: '1.2 a 1 MiB payload: expected N bytes, got N', names: ['ben', 'cy'] });
    expect(groups.map((g) => g.names.length)).toEqual([2, 1, 1, 1]);
    expect(groups.find((g) => g.names.includes('eve'))!.message).toMatch(/^not a submission: /);
  });

  test('a histogram of totals in ten ranges and full marks; pass rates of graded submissions', () => {
    const bins = histogram(rows.filter((r) => r.status === 'graded'), 100);
    expect(bins.map((b) => b.label)).toEqual(['0–9', '10–19', '20–29', '30–39', '40–49', '50–59', '60–69', '70–79', '80–89', '90–99', '100']);
    expect(bins.map((b) => b.count)).toEqual([2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1]);
    expect(histogram([row('x', { '1.1': 110 })], 110).map((b) => b.label).slice(-2)).toEqual(['99–109', '110']);
    expect(phaseRates(lab, rows).map((r) => [r.id, r.passed, r.graded])).toEqual([
      ['1.1', 3, 5],
      ['1.2', 1, 5],
    ]);
  });

  test('escapes what submissions wrote, and holds nothing that loads from elsewhere', () => {
    const html = classReportHtml(lab, rows, { hidden: false, file: path.join(dir, 'r.html'), generated: new Date() });
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<b>mallory');
    expect(html).toContain('&#60;b&#62;mallory&#60;/b&#62;');
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    expect(html).toMatch(/Content-Security-Policy" content="default-src 'none'/);
  });
});

describe('npm run grade -- --shard, then --merge', () => {
  const submissions = path.join(dir, 'submissions');
  const artifacts = path.join(dir, 'artifacts');
  const shardOut = (i: number) => path.join(artifacts, `shard-${i}`);
  let merged: { stdout: string; code?: number };

  beforeAll(async () => {
    makeSubmissions(submissions);
    // Two machines' worth, at once, as a CI matrix runs them.
    const shards = await Promise.all(
      [1, 2].map((i) =>
        runInstructor('grade', ['--submissions', submissions, '--lab', '1', '--jobs', '1', '--shard', `${i}/2`, '--json', path.join(shardOut(i), 'scores.json'), '--reports', path.join(shardOut(i), 'reports')], {
          timeoutMs: 220_000,
        }),
      ),
    );
    for (const shard of shards) expect(shard.exitCode, `${shard.stdout}\n${shard.stderr}`).toBe(0);
    const merge = await runInstructor('grade', ['--merge', artifacts, '--csv', path.join(artifacts, 'scores.csv'), '--json', path.join(artifacts, 'scores.json')]);
    merged = { stdout: String(merge.stdout), code: merge.exitCode };
    expect(merge.exitCode, `${merge.stdout}\n${merge.stderr}`).toBe(0);
    // Six submissions graded on a loaded 2-core machine: generous.
  }, ms(240_000));

  afterAll(() => removeDir(dir));

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

  test('a class with a shard missing, a shard twice or a submission twice is refused, saying which', async () => {
    const write = (folder: string, shard: { index: number; count: number; of: number }, rows: Row[], names = ['a', 'b', 'c']) => {
      mkdirSync(folder, { recursive: true });
      const file = path.join(folder, 'scores.json');
      writeFileSync(file, JSON.stringify(toBatchJson(lab, false, rows, file, { ...shard, class: classDigest(names) })));
    };
    const base = path.join(dir, 'broken');
    write(path.join(base, 'shard-1'), { index: 1, count: 3, of: 3 }, [row('a', { '1.1': 40, '1.2': 0 })]);
    write(path.join(base, 'shard-3'), { index: 3, count: 3, of: 3 }, [row('c', { '1.1': 40, '1.2': 60 })]);
    const missing = await runInstructor('grade', ['--merge', base]);
    expect(missing.exitCode).toBe(1);
    expect(String(missing.stderr)).toMatch(/^merge: shard 2\/3 missing from .*: its job failed, or the results were not downloaded$/m);

    write(path.join(base, 'shard-2'), { index: 2, count: 3, of: 3 }, [row('a', { '1.1': 0, '1.2': 0 })]);
    const twice = await runInstructor('grade', ['--merge', base]);
    expect(twice.exitCode).toBe(1);
    expect(String(twice.stderr)).toMatch(/submission a is in .*shard-1.* and in .*shard-2/);

    renameSync(path.join(base, 'shard-2'), path.join(base, 'again'));
    write(path.join(base, 'shard-2'), { index: 1, count: 3, of: 3 }, [row('b', { '1.1': 0, '1.2': 0 })]);
    const duplicate = await runInstructor('grade', ['--merge', base]);
    expect(String(duplicate.stderr)).toMatch(/shard 1\/3 is there twice/);

    rmSync(path.join(base, 'shard-2'), { recursive: true });
    renameSync(path.join(base, 'again'), path.join(base, 'shard-2'));
    write(path.join(base, 'shard-2'), { index: 2, count: 3, of: 3 }, [row('b', { '1.1': 0, '1.2': 0 })], ['a', 'b', 'x']);
    const otherClass = await runInstructor('grade', ['--merge', base]);
    expect(String(otherClass.stderr)).toMatch(/saw different classes: their folders of submissions differ/);

    const usage = await runInstructor('grade', ['--merge', base, '--lab', '1']);
    expect(usage.exitCode).toBe(2);
    expect(String(usage.stderr)).toMatch(/--merge takes the lab and everything else from the shards' JSON, not --lab/);
  }, ms(60_000));
});

describe('the class report of a large class', () => {
  test('stays one small page: 300 submissions', () => {
    const reasons = ['1.2 a 1 MiB payload: expected 1048576 bytes, got 65536', 'phase 1.1 not started: handleConnection in server.ts is still a TODO', 'missing client.ts', ''];
    const rows = Array.from({ length: 300 }, (_, i) => row(`student-${i}`, { '1.1': i % 3 ? 40 : 0, '1.2': i % 4 ? 60 : 0 }, reasons[i % 4]));
    const html = classReportHtml(lab, rows, { hidden: true, file: path.join(dir, 'big.html'), generated: new Date() });
    // About 300 bytes a row: a class of 300 in well under a megabyte.
    expect(Buffer.byteLength(html)).toBeLessThan(300 * 600);
  });
});
