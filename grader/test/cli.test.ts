// The grader's command line, run as a user runs it: selection, repetition, report files,
// usage errors, and Ctrl+C.
import { appendFileSync, cpSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { cleanup, committedStarter, expectNoDeadlineRanOut, kitArgs, ms, processesWith, root, runGrader } from './support.js';

const cli = path.join(root, 'grader', 'cli.ts');
const starter1 = committedStarter('01-echo');

test('--phase runs only the phases selected, and the total counts only them', async () => {
  const run = await runGrader(['1', '--solution', '--phase', '1.1', '--phase', '1.3']);
  expect(run.json.phases.map((p) => p.id)).toEqual(['1.1', '1.3']);
  expect(run.json.maxScore).toBe(35);
  expect(run.code).toBe(0);
  cleanup(run);
});

test('--test runs only the tests whose name holds the text, says so, and a text that matches nothing is an error', async () => {
  const run = await runGrader(['1', '--solution', '--test', 'every byte value', '--test', 'a line comes back']);
  const ran = run.json.phases.flatMap((p) => p.tests).filter((t) => t.state !== 'skipped');
  expect(ran.map((t) => t.name).sort()).toEqual(['1.1 a line comes back', '1.2 every byte value comes back unchanged']);
  expect(ran.every((t) => t.state === 'passed')).toBe(true);
  expect(run.json.phases.filter((p) => p.status === 'not run').map((p) => p.id)).toEqual(['1.3', '1.4', '1.5']);
  expect(run.stdout).toContain('only the tests whose name holds "every byte value" or "a line comes back"');
  // Some points of a phase, never its whole: the run is not full marks.
  expect(run.json.score).toBeLessThan(run.json.maxScore);
  cleanup(run);
  const none = await execa(process.execPath, [...kitArgs(cli), '1', '--solution', '--phase', '1.1', '--test', 'no such test'], { cwd: root, reject: false });
  expect(none.exitCode).toBe(2);
  expect(none.stderr).toContain('no test of phase 1.1 of lab 1 (without --hidden) has a name holding "no such test"');
});

test('--repeat runs the selection N times and counts failures per phase', async () => {
  const run = await runGrader(['echo', '--impl', starter1, '--phase', '1.1', '--repeat', '2']);
  expect(run.stdout).toMatch(/run 1\/2: 0\/15/);
  expect(run.stdout).toMatch(/1\.1 +a connection and a line, echoed +failed in 2 of 2 runs/);
  expect((run.json as unknown as { repeat: { runs: number; failures: Record<string, number> } }).repeat).toEqual({ runs: 2, fullMarks: 0, failures: { '1.1': 2 } });
  cleanup(run);
});

test('Gradescope and JUnit reports have the fields their consumers read', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-reports-'));
  const run = await runGrader(['1', '--impl', starter1, '--phase', '1.1', '--phase', '1.5', '--gradescope', path.join(dir, 'results.json'), '--junit', path.join(dir, 'junit.xml')]);
  const gradescope = JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8'));
  expect(gradescope).toMatchObject({ score: 0, max_score: 35 });
  expect(gradescope.tests).toHaveLength(2);
  for (const t of gradescope.tests) {
    expect(Object.keys(t)).toEqual(expect.arrayContaining(['name', 'score', 'max_score', 'status', 'output']));
    expect(t.status).toBe('failed');
    expect(t.output).toMatch(/not started: .* is still a TODO/);
  }
  const junit = readFileSync(path.join(dir, 'junit.xml'), 'utf8');
  expect(junit).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>/);
  expect(junit).toContain('<testcase classname="lab1.1.1" name="1.1 a line comes back"');
  // One <failure> per test of the two phases: every one fails on a starter.
  const tests = run.json.phases.flatMap((p) => p.tests);
  expect(tests.length).toBeGreaterThan(2);
  expect(junit.match(/<failure /g)).toHaveLength(tests.length);
  expect(run.json.phases[0]!.tests[0]!.diagnostics?.todo).toBe('phase 1.1 not started: handleConnection in server.ts is still a TODO');
  cleanup(run);
  rmSync(dir, { recursive: true, force: true });
});

test('usage errors exit 2 and say what is wrong', async () => {
  const noLab = await execa(process.execPath, [...kitArgs(cli), '99'], { cwd: root, reject: false });
  expect(noLab.exitCode).toBe(2);
  expect(noLab.stderr).toContain('there is no lab "99"');
  const noPhase = await execa(process.execPath, [...kitArgs(cli), '1', '--phase', '7'], { cwd: root, reject: false });
  expect(noPhase.exitCode).toBe(2);
  expect(noPhase.stderr).toContain('lab 1 has no phase 7; its phases are 1.1, 1.2, 1.3, 1.4, 1.5');
  const noProgram = await execa(process.execPath, [...kitArgs(cli), '7', '--cmd', 'python3 replica.py', '--cmd', 'client=python3 client.py'], { cwd: root, reject: false });
  expect(noProgram.exitCode).toBe(2);
  expect(noProgram.stderr).toMatch(/^--cmd client=\.\.\.: lab 7 has no program 'client' \(its programs: replica\); lab 6 has one\n/);
  const help = await execa(process.execPath, [...kitArgs(cli), '--help'], { cwd: root, reject: false });
  expect(help.exitCode).toBe(0);
  expect(help.stdout).toContain('1  TCP echo server and client');
});

test.skipIf(process.platform === 'win32')('Ctrl+C stops the run and every process it started', async () => {
  const marker = `switchboard-interrupt-${process.pid}-${Date.now()}`;
  const fixture = path.join(root, 'grader', 'test', 'fixtures', 'ignores-sigterm.mjs');
  const grader = execa(process.execPath, [...kitArgs(cli), '1', '--phase', '1.4', '--cmd', `node ${fixture} ${marker}`], {
    cwd: root,
    reject: false,
    env: { NO_COLOR: '1' },
  });
  // Wait for the program under test to be running (the grader's own command line holds the
  // marker too, but without the --port it appends), then interrupt the grader.
  const underTest = `${marker} --port`;
  // Bounded generously: in a full run on a loaded 2-core machine, three runs of one lab 1 phase once took 42 s.
  for (const end = Date.now() + ms(90_000); Date.now() < end && processesWith(underTest).length === 0; ) await new Promise((r) => setTimeout(r, 50));
  expect(processesWith(underTest).length).toBeGreaterThan(0);
  grader.kill('SIGINT');
  const result = await grader;
  expect(result.exitCode).toBe(130);
  expect(result.stderr).toMatch(/interrupted: stopped \d+ process group\(s\)/);
  for (const end = Date.now() + ms(5_000); Date.now() < end && processesWith(underTest).length; ) await new Promise((r) => setTimeout(r, 50));
  expect(processesWith(underTest)).toEqual([]);
});

test('colours follow FORCE_COLOR and NO_COLOR; output to a pipe has none by default', async () => {
  const args = [...kitArgs(cli), '1', '--solution', '--phase', '1.1'];
  const forced = await execa(process.execPath, args, { cwd: root, reject: false, env: { FORCE_COLOR: '1', NO_COLOR: '' } });
  expect(forced.stdout).toContain('\x1b[');
  const plain = await execa(process.execPath, args, { cwd: root, reject: false, env: { FORCE_COLOR: '', NO_COLOR: '' } });
  expect(plain.stdout).not.toContain('\x1b[');
  const refused = await execa(process.execPath, args, { cwd: root, reject: false, env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
  expect(refused.stdout).not.toContain('\x1b[');
  expect(refused.stdout).toContain('full marks: 15/15');
});

test('a starter\'s first run is short: each TODO said once, phases whose needs failed not run, the table last', async () => {
  const run = await runGrader(['2', '--impl', committedStarter('02-chat')]);
  const lines = run.stdout.trimEnd().split('\n');
  expect(lines.length).toBeLessThan(40);
  expect(run.stdout.match(/not started: the Connection constructor in connection\.ts is still a TODO/g)).toHaveLength(1);
  expect(run.stdout).not.toMatch(/NotImplemented|    at /);
  // 2.2 to 2.6 need 2.1: none of their tests ran.
  for (const id of ['2.2', '2.3', '2.4', '2.5', '2.6']) {
    const phase = run.json.phases.find((p) => p.id === id)!;
    expect(phase.status, id).toBe('blocked');
    expect(phase.tests.filter((t) => t.state !== 'skipped'), id).toEqual([]);
  }
  expect(lines.at(-1)).toMatch(/^score: 0\/100/);
  expect(lines.at(-3)).toMatch(/^ +total +0\/100/);
  expectNoDeadlineRanOut(run);
  cleanup(run);
});

test('options given before -- (which npm keeps for itself) are caught, with the command to type instead', async () => {
  const result = await execa(process.execPath, [...kitArgs(cli), '1', '1.3'], {
    cwd: root,
    env: { NO_COLOR: '1', npm_lifecycle_event: 'lab', npm_config_phase: 'true' },
    reject: false,
  });
  expect(result.exitCode).toBe(2);
  expect(String(result.stderr)).toMatch(/npm took --phase for itself/);
  expect(String(result.stderr)).toContain('npm run lab 1 -- --phase 1.3');
});

test('type errors in the student\'s TypeScript are warnings with file and line, never points', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-typed-'));
  cpSync(path.join(root, 'solutions', '01-echo'), dir, { recursive: true });
  appendFileSync(path.join(dir, 'server.ts'), "\nexport const count: number = 'three';\n");
  const run = await runGrader(['1', '--impl', dir, '--phase', '1.1']);
  expect(run.json.score).toBe(run.json.maxScore);
  expect(run.stdout).toMatch(/warnings \(they cost no points, but may explain a failure\):\n +type error: server\.ts:\d+:\d+: TS2322 Type 'string' is not assignable to type 'number'/);
  cleanup(run);
  rmSync(dir, { recursive: true, force: true });
});

test.skipIf(process.platform === 'win32')('--watch grades again when the code changes, under a separator naming the change', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-watch-'));
  cpSync(path.join(root, 'solutions', '01-echo'), dir, { recursive: true });
  const child = execa(process.execPath, [...kitArgs(cli), '1', '--impl', dir, '--phase', '1.1', '--watch'], { cwd: root, env: { NO_COLOR: '1', INIT_CWD: root }, reject: false });
  let out = '';
  const seen = (pattern: RegExp) =>
    new Promise<void>((resolve) => {
      const check = () => pattern.test(out) && resolve();
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        check();
      });
      check();
    });
  await seen(/full marks: 15\/15/);
  appendFileSync(path.join(dir, 'server.ts'), '\n// edited\n');
  await seen(/── [^\n]* · [^\n]*server\.ts changed ─+\n[\s\S]*full marks: 15\/15/);
  child.kill('SIGINT');
  await child;
  expect(processesWith(dir)).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
}, ms(60_000));
