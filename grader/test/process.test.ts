// The process fixture: readiness, explanations when a program does not come up, and that a
// whole process group dies, whatever the program does with signals.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, expect, test } from 'vitest';
import { GroupRegistry, isWindows } from '../harness/groups.js';
import { freePort } from '../harness/ports.js';
import { crashOf } from '../harness/crash.js';
import { PortTaken, Proc } from '../harness/process.js';
import { poll } from '../harness/wait.js';
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

async function start(name: string, args: string[], options: { port?: number; readyTimeoutMs?: number; logCapBytes?: number; ready?: boolean } = {}): Promise<Proc> {
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
  await proc.start({ ready: options.ready });
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


test.skipIf(process.platform !== 'linux')('a port that accepts for another program is not taken for the program started', async () => {
  // The test itself squats on the port; the program started there never listens.
  const port = await freePort();
  const squatter = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
  const error = await start('late', ['-e', 'setInterval(() => {}, 1000)'], { port }).catch((e: Error) => e);
  squatter.close();
  expect(error).toBeInstanceOf(PortTaken);
  expect(String(error)).toMatch(new RegExp(`port ${port} accepted a connection, but the program listening there is not late`));
});

/** A program that prints these lines on stdout, then exits 0. */
function printer(lines: string[]): string[] {
  return ['-e', `process.stdout.write(${JSON.stringify(lines.map((l) => `${l}\n`).join(''))})`];
}

test('a strict reading accounts for every line, in order, with a named allowance', async () => {
  const proc = await start('client', printer(['first', '> ', 'second', 'stray', 'third']));
  await proc.expectNextLine('first');
  // The allowance passes over the prompt; nothing else is skipped.
  const prompt = { name: 'a prompt', test: (line: string) => line === '> ' };
  await proc.expectNextLines(['second'], { allow: prompt });
  const error = await proc.expectNextLine('third', { what: 'the third reply' }).catch((e: Error) => e);
  expect(String(error)).toMatch(/client printed a line where the grader expected the third reply/);
  expect(String(error)).toContain('stray');
  await proc.expectNextLine('third');
  await proc.expectExit(0);
  await proc.expectNoMoreOutput();
});

test('nothing more: a line left unread at the exit fails, as does one that arrives while running', async () => {
  const exited = await start('client', printer(['only', 'extra']));
  await exited.expectNextLine('only');
  await exited.expectExit(0);
  await expect(exited.expectNoMoreOutput({ what: 'nothing after its one line' })).rejects.toThrow(/client printed "extra" where the grader expected nothing after its one line/);

  const running = await start('chatty', ['-e', "setTimeout(() => console.log('late line'), 50); setInterval(() => {}, 1000)"]);
  await expect(running.expectNoMoreOutput({ quietMs: 2_000 })).rejects.toThrow(/chatty printed "late line"/);
});

test('a crash is read out of standard error: the error, the frame in the program, a hint', async () => {
  const script = path.join(dir, 'client-that-crashes.mjs');
  writeFileSync(script, "import net from 'node:net';\nconst socket = net.connect({ port: Number(process.argv[2]), host: '127.0.0.1' });\nsocket.on('connect', () => socket.end());\n");
  const port = await freePort();
  const proc = await start('client', [script, String(port)]);
  // It exits 1, as an error should, but by crashing on ECONNREFUSED.
  const error = await proc.expectExit('nonzero').catch((e: Error) => e);
  expect(String(error)).toMatch(/and it did exit, but by crashing: Error: connect ECONNREFUSED 127\.0\.0\.1:\d+/);
  expect(String(error)).toMatch(/A crash is not an error message/);
  const crash = proc.crash()!;
  expect(crash.error).toMatch(/^Error: connect ECONNREFUSED/);
  expect(crash.hint).toMatch(/'error' handler/);
  await proc.expectExit('nonzero', { allowCrash: true });
});

test('crashOf finds the first frame in the program\'s own files, for Node and for Python', () => {
  const node = [
    'node:events:497',
    "      throw er; // Unhandled 'error' event",
    'Error [ERR_STREAM_WRITE_AFTER_END]: write after end',
    '    at _write (node:internal/streams/writable:489:11)',
    '    at Socket.<anonymous> (/kit/starter/01-echo/server.ts:25:12)',
    '    at Socket.emit (node:events:519:28)',
    "Emitted 'error' event on Socket instance at:",
    '    at emitErrorNT (node:internal/streams/destroy:169:8)',
    '{',
    "  code: 'ERR_STREAM_WRITE_AFTER_END'",
    '}',
    'Node.js v20.20.2',
  ];
  const fromNode = crashOf(node, '/kit/starter/01-echo')!;
  expect(fromNode.error).toBe('Error [ERR_STREAM_WRITE_AFTER_END]: write after end');
  expect(fromNode.where).toBe('server.ts:25:12 (Socket.<anonymous>)');
  expect(fromNode.summary).toMatch(/hint: it wrote to a socket after ending it/);
  const python = ['Traceback (most recent call last):', '  File "/home/ann/lab1/client.py", line 12, in <module>', '    sock.connect((host, port))', 'ConnectionRefusedError: [Errno 111] Connection refused'];
  const fromPython = crashOf(python, '/home/ann/lab1')!;
  expect(fromPython.error).toBe('ConnectionRefusedError: [Errno 111] Connection refused');
  expect(fromPython.where).toBe('client.py:12 (<module>)');
  expect(crashOf(['listening on 7007', 'Error: this is only a log line'], '/x')).toBeUndefined();
});

test('settle waits until a dying program\'s exit and last words are in', async () => {
  // It starts dying when told to, and the grader looks while it is still writing its last words:
  // a line every 20 ms for a second and a half, longer than settle's first grace. (Not one burst
  // of thousands of lines: Node queues what a slow reader has not taken, and a process that dies
  // with its queue full loses its crash report, however long the grader waits.)
  const crash = "process.stdin.once('data', () => { let i = 0; setInterval(() => { console.error('log line', i); if (++i === 75) throw new Error('boom at the end'); }, 20); })";
  const proc = await start('dying', ['-e', crash]);
  proc.send('go\n');
  await poll(() => (proc.stderrLines().length > 0 ? true : undefined), { timeoutMs: 10_000, explain: () => 'it never started dying' });
  await proc.settle();
  expect(proc.exit?.code).toBe(1);
  expect(proc.crash()?.error).toBe('Error: boom at the end');
  expect(proc.lastLines().join('\n')).toContain('Node.js v');
});

test('a listening program started without waiting for it: one that must refuse to start is seen to exit', async () => {
  const port = await freePort();
  const proc = await start('refuses', ['-e', "console.error('--id wants a number'); process.exit(2)"], { port, ready: false });
  await proc.expectExit(2);
  expect(proc.stderrLines()).toEqual(['--id wants a number']);
});
