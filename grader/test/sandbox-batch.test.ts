// A batch graded confined: a hostile submission (lab 1's solution plus a probe, see
// fixtures/sandbox/probe.ts) beside a starter, in a committed copy of the kit. The probe tries to
// read the hidden tests and the solutions, rewrite a later phase's test and the grader, write into
// the home folder, read the other submission, walk to the grader's working folder, find a network
// interface and rewrite the results after grading; it must keep the solution's score and manage
// none of it. Linux with bubblewrap.
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { bwrapWorks } from '../sandbox/index.js';
import { digests, probeLines, writeProbe } from './fixtures/sandbox/probe-submission.js';
import { kitCopy, removeDir, runInstructor, starter, tempDir } from './fixtures/instructor/submissions.js';
import { ms } from './support.js';

const usable = process.platform === 'linux' && bwrapWorks();
const home = tempDir('sandbox-batch');
afterAll(() => removeDir(home));

test.skipIf(!usable)('a hostile submission graded in a batch keeps its honest score and finds nothing', async () => {
  const kit = kitCopy(path.join(home, 'kit'));
  const submissions = path.join(home, 'submissions');
  const reports = path.join(home, 'reports');
  const json = path.join(home, 'batch.json');
  mkdirSync(path.join(submissions, 'probe'), { recursive: true });
  cpSync(starter, path.join(submissions, 'other'), { recursive: true });
  const files = [
    path.join(kit, 'labs/01-echo/hidden/1.6-other-payloads.test.ts'),
    path.join(kit, 'labs/01-echo/tests/1.5-client.test.ts'),
    path.join(kit, 'grader/results.ts'),
    path.join(kit, 'solutions/01-echo/server.ts'),
    path.join(os.homedir(), `switchboard-probe-${path.basename(home)}.txt`),
  ];
  const results = [path.join(reports, 'probe', 'results.json'), path.join(reports, 'other', 'results.json'), json];
  writeProbe(path.join(submissions, 'probe'), { files, folders: [kit, path.join(kit, 'solutions'), os.homedir()], results });
  const before = digests(files);

  const run = await runInstructor('grade', ['--submissions', submissions, '--lab', '1', '--jobs', '2', '--json', json, '--reports', reports], { kit, timeoutMs: ms(120_000) });
  expect(run.exitCode, String(run.stderr)).toBe(0);
  expect(String(run.stdout).split('\n')[0]).toMatch(/^confined: user .*; sandbox bubblewrap; network loopback only; limits /);

  const batch = JSON.parse(readFileSync(json, 'utf8')) as { protections: { confined: boolean; missing: string[] }; submissions: { name: string; score: number; maxScore: number }[] };
  expect(batch.protections).toMatchObject({ confined: true, missing: [] });
  expect(batch.submissions.map((s) => [s.name, s.score])).toEqual([['other', 0], ['probe', 100]]);
  const own = JSON.parse(readFileSync(results[0]!, 'utf8')) as { score: number; protections: { network: string } };
  expect(own.score).toBe(100);
  expect(own.protections.network).toMatch(/^loopback only/);

  // It ran, tried everything, and got nothing; no file it aimed at changed.
  const lines = probeLines(path.join(reports, 'probe'));
  expect(lines.filter((l) => l.includes('PROBE read ')).length).toBeGreaterThan(0);
  expect(lines.filter((l) => l.includes('GOT IT'))).toEqual([]);
  expect(lines.some((l) => /a network interface other than lo: blocked \(only lo\)/.test(l))).toBe(true);
  expect(digests(files)).toEqual(before);
  expect(JSON.parse(readFileSync(results[0]!, 'utf8')).score).toBe(100);
}, ms(150_000));

test.runIf(!usable)('batch confinement needs Linux and bubblewrap', () => {
  expect(usable).toBe(false);
});
