// Programs no one on the team would write, graded with --cmd as a student's program in another
// language would be. For each: the run ends on its own deadlines, the score is what the grader
// observed, no process outlives the run, and the report says what went wrong.
import { readdirSync, readFileSync, statSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { cleanup, ms, processesWith, root, runGrader, treeRssKb } from './support.js';

const fixtures = path.join(root, 'grader', 'test', 'fixtures');
const linux = process.platform === 'linux';

/** `node <fixture> <marker>`: the marker, in every process the fixture starts, lets us find leftovers. */
function hostile(name: string): { cmd: string; marker: string } {
  const marker = `switchboard-hostile-${name}-${process.pid}-${Date.now()}`;
  return { cmd: `node ${path.join(fixtures, `${name}.mjs`)} ${marker}`, marker };
}

function expectNoSurvivors(marker: string): void {
  if (linux) expect(processesWith(marker), 'processes left running after the run').toEqual([]);
}

function allTests(run: Awaited<ReturnType<typeof runGrader>>) {
  return run.json.phases.flatMap((p) => p.tests);
}

test('a program that never listens: a clear deadline message, and a fast run', async () => {
  const { cmd, marker } = hostile('never-listens');
  const run = await runGrader(['1', '--phase', '1.1', '--phase', '1.2', '--phase', '1.3', '--phase', '1.4', '--cmd', cmd]);
  expect(run.json.score).toBe(0);
  const errors = allTests(run).map((t) => t.error ?? '');
  expect(errors.some((e) => /did not accept a connection on port \d+ within 5\.0 s; it is still running/.test(e))).toBe(true);
  // After the first wait expires, later tests do not wait for the same program again.
  expect(errors.some((e) => /was not started again/.test(e))).toBe(true);
  expect(run.durationMs).toBeLessThan(ms(40_000));
  expectNoSurvivors(marker);
  cleanup(run);
});

test('a program that crashes at start: its exit code and last words', async () => {
  const { cmd, marker } = hostile('crash-at-start');
  const run = await runGrader(['1', '--phase', '1.1', '--cmd', cmd]);
  expect(run.json.score).toBe(0);
  const error = allTests(run)[0]!.error!;
  expect(error).toMatch(/stopped before it accepted a connection on port \d+: it exited with code 3/);
  expect(error).toContain('fatal: cannot read configuration file echo.conf');
  expectNoSurvivors(marker);
  cleanup(run);
});

test('a program that ignores SIGTERM and leaves a grandchild: full marks, and nothing survives', async () => {
  const { cmd, marker } = hostile('ignores-sigterm');
  const run = await runGrader(['1', '--phase', '1.1', '--cmd', cmd]);
  expect(run.json.score).toBe(15);
  expectNoSurvivors(marker);
  cleanup(run);
});

test('a program that floods stdout and stderr: logs capped, grader memory bounded', async () => {
  const { cmd, marker } = hostile('flood');
  let peakKb = 0;
  let pid = 0;
  const sampler = setInterval(() => {
    if (pid) peakKb = Math.max(peakKb, treeRssKb(pid, marker));
  }, 200);
  const run = await runGrader(['1', '--phase', '1.1', '--phase', '1.2', '--cmd', cmd], { onStart: (p) => (pid = p) });
  clearInterval(sampler);
  // It echoes correctly: flooding its own logs costs it nothing.
  expect(run.json.score).toBe(40);
  const logs = path.join(root, run.json.logs, 'logs');
  const files = readdirSync(logs, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.log'));
  expect(files.length).toBeGreaterThan(0);
  for (const file of files) expect(statSync(path.join(logs, file)).size).toBeLessThan(1024 * 1024 + 64 * 1024);
  if (linux) expect(peakKb / 1024, 'grader and workers, MiB').toBeLessThan(600);
  expectNoSurvivors(marker);
  cleanup(run);
});

test('a program that blocks its event loop after the first message: the run ends on its deadlines', async () => {
  const { cmd, marker } = hostile('blocks-after-first');
  const run = await runGrader(['1', '--phase', '1.1', '--cmd', cmd]);
  // The first test needs one echo and passes; the second waits for a close that never comes.
  expect(run.json.score).toBe(10);
  const failed = allTests(run).find((t) => t.state === 'failed')!;
  expect(failed.error).toMatch(/expected the server to close its side after ours within 5\.0 s; the connection is still open/);
  expectNoSurvivors(marker);
  cleanup(run);
});

test('a program that prints pass lines and forges result files: the reports hold what the grader saw', async () => {
  const { cmd, marker } = hostile('fake-pass');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-forgery-'));
  const run = await runGrader(['1', '--phase', '1.1', '--cmd', cmd, '--gradescope', 'gradescope.json', '--junit', 'junit.xml'], {
    cwd: dir,
    jsonFile: path.join(dir, 'results.json'),
  });
  expect(run.json.score).toBe(0);
  expect(run.json.maxScore).toBe(15);
  expect(run.stdout).toContain('score: 0/15');
  // Its own lines appear only as quoted output, tagged with its name, never as the grader's verdict.
  expect(run.stdout).not.toMatch(/^full marks/m);
  for (const line of run.stdout.split('\n').filter((l) => l.includes('full marks: 100/100'))) expect(line).toMatch(/^\s+\[server\] /);
  const gradescope = JSON.parse(readFileSync(path.join(dir, 'gradescope.json'), 'utf8'));
  expect(gradescope.score).toBe(0);
  expect(gradescope.max_score).toBe(15);
  expect(readFileSync(path.join(dir, 'junit.xml'), 'utf8')).toContain('failures="2"');
  expectNoSurvivors(marker);
  cleanup(run);
  rmSync(dir, { recursive: true, force: true });
});

test.skipIf(!linux)('a client whose helper program connects to the fake server first: that connection is turned away', async () => {
  const run = await runGrader(['1', '--phase', '1.5', '--solution', '--cmd', `client=node ${path.join(fixtures, 'sneaky-client.mjs')}`]);
  const typed = allTests(run).find((t) => t.name === '1.5 lines typed are sent, and the replies printed')!;
  expect(typed.state, typed.error).toBe('passed');
  cleanup(run);
});

test('a client that crashes on a refused connection has not reported an error, though Node names the port', async () => {
  const run = await runGrader(['1', '--phase', '1.5', '--solution', '--cmd', `client=node ${path.join(fixtures, 'crashing-client.mjs')}`]);
  const unreachable = allTests(run).find((t) => t.name === '1.5 an unreachable or vanished server is an error')!;
  expect(unreachable.state).toBe('failed');
  expect(unreachable.error).toMatch(/by crashing: Error: connect ECONNREFUSED 127\.0\.0\.1:\d+/);
  expect(unreachable.error).toMatch(/hint: a socket or server emitted 'error'/);
  cleanup(run);
});

test.skipIf(!linux)('a lab 5 server that swaps its log for a link to a file outside: the grader neither reads nor writes through it', { timeout: ms(240_000) }, async () => {
  const marker = `switchboard-hostile-plants-links-${process.pid}-${Date.now()}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-link-target-'));
  // Stands for a hidden test or a file of the kit: what the grader must not quote or change.
  const target = path.join(dir, 'secret.ts');
  const secret = `export const answer = '${marker}-secret';\n`;
  writeFileSync(target, secret);
  const cmd = `server=node ${path.join(fixtures, 'plants-links.mjs')} ${marker} ${target}`;
  const run = await runGrader(['5', '--phase', '5.3', '--cmd', cmd]);
  expect(run.json.score).toBe(0);
  const errors = allTests(run).map((t) => t.error ?? '');
  expect(errors.some((e) => /"log" in the program's data folder .* is a symbolic link/.test(e)), errors.join('\n')).toBe(true);
  expect(readFileSync(target, 'utf8')).toBe(secret);
  expect(JSON.stringify(run.json) + run.stdout).not.toContain(`${marker}-secret`);
  expectNoSurvivors(marker);
  cleanup(run);
  rmSync(dir, { recursive: true, force: true });
});
