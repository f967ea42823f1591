// The process fixture: readiness, explanations when a program does not come up, and that a
// whole process group dies, whatever the program does with signals.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, expect, test } from 'vitest';
import { GroupRegistry, isWindows } from '../harness/groups.js';
import { freePort } from '../harness/ports.js';
import { Proc } from '../harness/process.js';
import { Conn } from '../harness/wire.js';
import { processesWith } from './support.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-proc-'));
const registry = new GroupRegistry(path.join(dir, 'groups'), process.pid, process.pid);
const procs: Proc[] = [];
const echo = path.join(import.meta.dirname, 'fixtures', 'echo.mjs');
const ignoresTerm = path.join(import.meta.dirname, 'fixtures', 'ignores-sigterm.mjs');

afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop()));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(name: string, args: string[], options: { port?: number; readyTimeoutMs?: number; logCapBytes?: number } = {}): Promise<Proc> {
  const proc = new Proc({
    name,
    command: [process.execPath, ...args],
    cwd: dir,
    port: options.port,
    readyTimeoutMs: options.readyTimeoutMs,
    logFile: path.join(dir, 'logs', `${name}-${procs.length}.log`),
    logCapBytes: options.logCapBytes ?? 1024 * 1024,
    registry,
  });
  procs.push(proc);
  await proc.start();
  return proc;
}

test('a server is ready when it accepts a connection, and its output is logged', async () => {
  const port = await freePort();
  const proc = await start('echo', [echo, '--port', String(port)], { port });
  const conn = await Conn.connect(port);
  conn.send('hi\n');
  await conn.expectLine('hi');
  conn.destroy();
  await proc.stop();
  expect(readFileSync(proc.logFile, 'utf8')).toMatch(/started: .*echo\.mjs --port \d+/);
});

test('a program that exits before listening is reported with its code and last words', async () => {
  const port = await freePort();
  const error = await start('dies', ['-e', "console.error('no config'); process.exit(3)"], { port }).catch((e: Error) => e);
  expect(String(error)).toMatch(new RegExp(`dies stopped before it accepted a connection on port ${port}: it exited with code 3`));
  expect(String(error)).toContain('[dies stderr] no config');
});

test('a program that never listens is reported at the deadline', async () => {
  const port = await freePort();
  const error = await start('idle', ['-e', 'setInterval(() => {}, 1000)'], { port, readyTimeoutMs: 300 }).catch((e: Error) => e);
  expect(String(error)).toMatch(new RegExp(`idle did not accept a connection on port ${port} within 0\\.3 s; it is still running`));
});

test('a command that does not exist is reported as such', async () => {
  const proc = new Proc({ name: 'ghost', command: ['no-such-command-switchboard'], cwd: dir, logFile: path.join(dir, 'ghost.log'), logCapBytes: 1000, registry });
  procs.push(proc);
  await proc.start();
  const status = await proc.exited;
  expect(status.error).toMatch(/command not found: no-such-command-switchboard/);
});

test.skipIf(isWindows)('stop ends a program that ignores SIGTERM, and the grandchild in its group', async () => {
  const marker = `switchboard-proc-test-${process.pid}-${Date.now()}`;
  const port = await freePort();
  const proc = await start('stubborn', [ignoresTerm, marker, '--port', String(port)], { port });
  expect(processesWith(marker).length).toBe(2);
  const started = Date.now();
  await proc.stop();
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(proc.exit?.signal).toBe('SIGKILL');
  for (let i = 0; i < 20 && processesWith(marker).length; i++) await new Promise((r) => setTimeout(r, 50));
  expect(processesWith(marker)).toEqual([]);
});

test.skipIf(isWindows)('pause freezes a server and resume thaws it; restart brings it back on the same port', async () => {
  const port = await freePort();
  const proc = await start('echo', [echo, '--port', String(port)], { port });
  const conn = await Conn.connect(port);
  proc.pause();
  conn.send('frozen\n');
  await conn.expectSilence(300, { what: 'no echo from a paused server' });
  proc.resume();
  await conn.expectLine('frozen');
  conn.destroy();
  await proc.restart();
  expect(proc.exit).toBeUndefined();
  const again = await Conn.connect(port);
  again.send('back\n');
  await again.expectLine('back');
  again.destroy();
});

test('kill with SIGKILL ends the process and reports the signal', async () => {
  const port = await freePort();
  const proc = await start('echo', [echo, '--port', String(port)], { port });
  await proc.kill('SIGKILL');
  expect(proc.exit?.signal).toBe('SIGKILL');
});

test('a client program: stdin in, stdout lines awaited, exit code checked', async () => {
  const proc = await start('upper', ['-e', "process.stdin.on('data', d => process.stdout.write(String(d).toUpperCase())); process.stdin.on('end', () => process.exit(4))"]);
  proc.send('hello\n');
  await proc.expectOutput('HELLO');
  proc.endInput();
  await proc.expectExit(4);
  await expect(proc.expectExit(0)).rejects.toThrow(/expected upper to exit with code 0, but it exited with code 4/);
});

test('the log of a program that floods is capped', async () => {
  const proc = await start('flood', ['-e', "const b = 'x'.repeat(1000) + '\\n'; const go = () => { while (process.stdout.write(b)); process.stdout.once('drain', go); }; go()"], { logCapBytes: 64 * 1024 });
  await proc.expectOutput(/x{1000}/);
  await new Promise((r) => setTimeout(r, 300));
  await proc.stop();
  const log = readFileSync(proc.logFile, 'utf8');
  expect(log.length).toBeLessThan(64 * 1024 + 4096);
  expect(log).toContain('# log truncated');
});

test.skipIf(isWindows)('groups left by a run whose grader died are reaped by the next run', async () => {
  const marker = `switchboard-orphan-${process.pid}-${Date.now()}`;
  const orphan = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', marker], { detached: true, stdio: 'ignore' });
  orphan.unref();
  // A pid that is certainly dead: a process that has already exited.
  const dead = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => dead.on('exit', resolve));
  const groups = path.join(dir, 'orphans');
  new GroupRegistry(groups, dead.pid!, dead.pid!).record(orphan.pid!, `node ${marker}`);
  expect(processesWith(marker).length).toBe(1);
  const reaped = new GroupRegistry(groups, process.pid, process.pid).reapOrphans();
  expect(reaped).toEqual([`node ${marker}`]);
  for (let i = 0; i < 20 && processesWith(marker).length; i++) await new Promise((r) => setTimeout(r, 50));
  expect(processesWith(marker)).toEqual([]);
  expect(existsSync(path.join(groups, `${orphan.pid}.json`))).toBe(false);
});

