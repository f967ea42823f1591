// The class report and the split into shards, from rows: the split is stable and whole, and the
// report groups first failures, counts the histogram and pass rates, and escapes what submissions
// wrote. A class really graded in shards and merged, and its report in Chromium, are in
// instructor-grade.test.ts, beside the single batch they must agree with.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { classReportHtml, commonFailures, failureGroup, histogram, phaseRates } from '../instructor/class-report.js';
import { toBatchJson, type BatchLab, type Row } from '../instructor/rows.js';
import { classDigest, parseShard, shardNames } from '../instructor/shard.js';
import { removeDir, runInstructor, tempDir } from './fixtures/instructor/submissions.js';
import { ms } from './support.js';

const dir = tempDir('class');

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

describe('npm run grade -- --merge', () => {
  afterAll(() => removeDir(dir));

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
  test('a merge keeps what confined each shard: where they agree, that; where they differ, each, and confined only if all were', async () => {
    const base = path.join(dir, 'confined');
    const confined = { confined: true, user: 'switchboard-grade-1 (uid 999)', sandbox: 'bubblewrap: …', network: 'loopback only', limits: '64 processes', missing: [] };
    const shard = (index: number, name: string, protections: object) => {
      const file = path.join(base, `shard-${index}`, 'scores.json');
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ ...toBatchJson(lab, false, [row(name, { '1.1': 40, '1.2': 0 })], file, { index, count: 2, of: 2, class: classDigest(['a', 'b']) }), protections }));
    };
    shard(1, 'a', confined);
    shard(2, 'b', { ...confined, user: 'switchboard-grade-2 (uid 998)' });
    expect((await runInstructor('grade', ['--merge', base, '--json', path.join(base, 'merged.json')])).exitCode).toBe(0);
    const read = () => (JSON.parse(readFileSync(path.join(base, 'merged.json'), 'utf8')) as { protections: typeof confined }).protections;
    expect(read()).toEqual({ ...confined, user: 'switchboard-grade-1 (uid 999) / switchboard-grade-2 (uid 998)' });
    shard(2, 'b', { ...confined, confined: false, missing: ['no sandbox here'] });
    expect((await runInstructor('grade', ['--merge', base, '--json', path.join(base, 'merged.json')])).exitCode).toBe(0);
    expect(read()).toMatchObject({ confined: false, missing: ['no sandbox here'] });
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
