// The grader's command line, run as a user runs it: selection, repetition, report files,
// usage errors, and Ctrl+C.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { expect, test } from 'vitest';
import { cleanup, processesWith, root, runGrader } from './support.js';

const cli = path.join(root, 'grader', 'cli.ts');

test('--phase runs only the phases selected, and the total counts only them', async () => {
  const run = await runGrader(['1', '--solution', '--phase', '1.1', '--phase', '1.3']);
  expect(run.json.phases.map((p) => p.id)).toEqual(['1.1', '1.3']);
  expect(run.json.maxScore).toBe(35);
  expect(run.code).toBe(0);
  cleanup(run);
});

test('--repeat runs the selection N times and counts failures per phase', async () => {
  const run = await runGrader(['echo', '--phase', '1.1', '--repeat', '2']);
  expect(run.stdout).toMatch(/run 1\/2: 0\/15/);
  expect(run.stdout).toMatch(/1\.1 +a connection and a line, echoed +failed in 2 of 2 runs/);
  expect((run.json as unknown as { repeat: { runs: number; failures: Record<string, number> } }).repeat).toEqual({ runs: 2, fullMarks: 0, failures: { '1.1': 2 } });
  cleanup(run);
});

test('Gradescope and JUnit reports have the fields their consumers read', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-reports-'));
  const run = await runGrader(['1', '--phase', '1.1', '--phase', '1.5', '--gradescope', path.join(dir, 'results.json'), '--junit', path.join(dir, 'junit.xml')]);
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
  expect(junit.match(/<failure /g)).toHaveLength(5);
  expect(run.json.phases[0]!.tests[0]!.diagnostics?.todo).toBe('phase 1.1 not started: handleConnection in server.ts is still a TODO');
  cleanup(run);
  rmSync(dir, { recursive: true, force: true });
});

test('usage errors exit 2 and say what is wrong', async () => {
  const noLab = await execa(process.execPath, ['--import', 'tsx', cli, '99'], { cwd: root, reject: false });
  expect(noLab.exitCode).toBe(2);
  expect(noLab.stderr).toContain('there is no lab "99"');
  const noPhase = await execa(process.execPath, ['--import', 'tsx', cli, '1', '--phase', '7'], { cwd: root, reject: false });
  expect(noPhase.exitCode).toBe(2);
  expect(noPhase.stderr).toContain('lab 1 has no phase 7; its phases are 1.1, 1.2, 1.3, 1.4, 1.5');
  const help = await execa(process.execPath, ['--import', 'tsx', cli, '--help'], { cwd: root, reject: false });
  expect(help.exitCode).toBe(0);
  expect(help.stdout).toContain('1  TCP echo server and client');
});

test.skipIf(process.platform === 'win32')('Ctrl+C stops the run and every process it started', async () => {
  const marker = `switchboard-interrupt-${process.pid}-${Date.now()}`;
  const fixture = path.join(root, 'grader', 'test', 'fixtures', 'ignores-sigterm.mjs');
  const grader = execa(process.execPath, ['--import', 'tsx', cli, '1', '--phase', '1.4', '--cmd', `node ${fixture} ${marker}`], {
    cwd: root,
    reject: false,
    env: { NO_COLOR: '1' },
  });
  // Wait for the program under test to be running (the grader's own command line holds the
  // marker too, but without the --port it appends), then interrupt the grader.
  const underTest = `${marker} --port`;
  for (let i = 0; i < 200 && processesWith(underTest).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(processesWith(underTest).length).toBeGreaterThan(0);
  grader.kill('SIGINT');
  const result = await grader;
  expect(result.exitCode).toBe(130);
  expect(result.stderr).toMatch(/interrupted: stopped \d+ process group\(s\)/);
  for (let i = 0; i < 40 && processesWith(underTest).length; i++) await new Promise((r) => setTimeout(r, 50));
  expect(processesWith(underTest)).toEqual([]);
});

test('colours follow FORCE_COLOR and NO_COLOR; output to a pipe has none by default', async () => {
  const args = ['--import', 'tsx', cli, '1', '--solution', '--phase', '1.1'];
  const forced = await execa(process.execPath, args, { cwd: root, reject: false, env: { FORCE_COLOR: '1', NO_COLOR: '' } });
  expect(forced.stdout).toContain('\x1b[');
  const plain = await execa(process.execPath, args, { cwd: root, reject: false, env: { FORCE_COLOR: '', NO_COLOR: '' } });
  expect(plain.stdout).not.toContain('\x1b[');
  const refused = await execa(process.execPath, args, { cwd: root, reject: false, env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
  expect(refused.stdout).not.toContain('\x1b[');
  expect(refused.stdout).toContain('full marks: 15/15');
});
