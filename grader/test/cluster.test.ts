// `npm run cluster`, run as a user runs it, against lab 6's reference solution: its output line
// by line, the table and its verdict as replicas crash and return, and a cluster on three
// different loopback addresses (Linux), to show that nothing in the replica or the tool assumes
// one host. It talks STATUS only, so what it shows here it shows for any implementation. And the
// table and verdict of lab 7, from STATUS answers made up here: a term column, and one primary per
// term (two primaries of different terms are one stale, not a split brain).
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { execa } from 'execa';
import { afterEach, expect, test } from 'vitest';
import { claimPort, type PortClaim } from '../harness/ports.js';
import { isZombie, processAlive } from '../harness/procfs.js';
import { T, decodeValue, map, message } from '../../labs/03-protocol/tests/wire.js';
import { render, verdict, type Answer, type Row } from '../cluster/status.js';
import { kitArgs, ms, root } from './support.js';

const dirs: string[] = [];
const claims: PortClaim[] = [];

afterEach(async () => {
  // Whatever happened, no replica outlives the test.
  for (const dir of dirs.splice(0)) {
    await tool(['down'], dir);
    rmSync(dir, { recursive: true, force: true });
  }
  for (const claim of claims.splice(0)) claim.release();
});

function tool(args: string[], dir: string) {
  return execa(process.execPath, [...kitArgs(path.join(root, 'grader', 'cluster', 'main.ts')), ...args, '--dir', dir], {
    cwd: root,
    env: { NO_COLOR: '1', INIT_CWD: root },
    reject: false,
    timeout: ms(60_000),
  });
}

async function ports(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const claim = await claimPort('a replica of the cluster tool test');
    claims.push(claim);
    out.push(claim.port);
  }
  return out;
}

/** Runs `status` until its verdict matches, and returns that output. */
async function statusUntil(dir: string, verdict: RegExp): Promise<string> {
  const end = Date.now() + ms(30_000);
  let last = '';
  while (Date.now() < end) {
    const run = await tool(['status'], dir);
    last = String(run.stdout);
    if (verdict.test(last)) return last;
    await delay(200);
  }
  throw new Error(`the verdict never matched ${verdict}; the last status was:\n${last}`);
}

const pids = (text: string) => [...text.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));

test('start, status, kill, restart, stop and down, against the reference solution', { timeout: ms(180_000) }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-cluster-'));
  dirs.push(dir);
  const [p1, p2, p3] = (await ports(3)) as [number, number, number];
  const start = await tool(['start', '3', '--solution', '--ports', `${p1},${p2},${p3}`, '--heartbeat-ms', '100', '--timeout-ms', '1000'], dir);
  expect(start.exitCode, String(start.stderr)).toBe(0);
  const lines = String(start.stdout).split('\n');
  for (const [i, port] of [p1, p2, p3].entries()) expect(lines[i]).toMatch(new RegExp(`^replica ${i + 1}: listening on 127\\.0\\.0\\.1:${port}, pid \\d+, log .*replica-${i + 1}.replica\\.log$`));
  expect(lines[3]).toMatch(/^started: .*replica\.mjs \.\.\. \(in solutions.06-replication\)$/);
  expect(lines[4]).toBe('next: npm run cluster -- status --watch');
  const started = pids(String(start.stdout));

  // A second cluster over the first is refused.
  const again = await tool(['start', '3', '--solution', '--ports', `${p1},${p2},${p3}`], dir);
  expect(again.exitCode).toBe(1);
  expect(String(again.stderr)).toContain('a cluster is already running');

  const healthy = await statusUntil(dir, /^verdict: healthy: replica 3 is the primary \(3 of 3 answering\)$/m);
  const table = healthy.trim().split('\n');
  expect(table[0]).toMatch(/^replica\s+address\s+process\s+role\s+primary\s+log\s+commit\s+alive$/);
  expect(table[1]).toMatch(new RegExp(`^1\\s+127\\.0\\.0\\.1:${p1}\\s+up \\d+\\s+backup\\s+3\\s+0\\s+0\\s+2 3$`));
  expect(table[2]).toMatch(new RegExp(`^2\\s+127\\.0\\.0\\.1:${p2}\\s+up \\d+\\s+backup\\s+3\\s+0\\s+0\\s+1 3$`));
  expect(table[3]).toMatch(new RegExp(`^3\\s+127\\.0\\.0\\.1:${p3}\\s+up \\d+\\s+primary\\s+3\\s+0\\s+0\\s+1 2$`));

  const kill = await tool(['kill', '3'], dir);
  expect(String(kill.stdout)).toMatch(/^replica 3 \(pid \d+\) killed$/);
  const failover = await statusUntil(dir, /^verdict: healthy: replica 2 is the primary \(2 of 3 answering\)$/m);
  expect(failover).toMatch(new RegExp(`^3\\s+127\\.0\\.0\\.1:${p3}\\s+down$`, 'm'));

  const restart = await tool(['restart', '3'], dir);
  expect(String(restart.stdout)).toMatch(new RegExp(`^replica 3: listening on 127\\.0\\.0\\.1:${p3}, pid \\d+$`));
  await statusUntil(dir, /^verdict: healthy: replica 2 is the primary \(3 of 3 answering\)$/m);

  // --watch prints the table again and again (as blocks, when its output is not a terminal).
  const watch = execa(process.execPath, [...kitArgs(path.join(root, 'grader', 'cluster', 'main.ts')), 'status', '--watch', '--dir', dir], { cwd: root, env: { NO_COLOR: '1', INIT_CWD: root }, reject: false });
  let seen = '';
  watch.stdout?.on('data', (chunk: Buffer) => (seen += chunk.toString()));
  const until = Date.now() + ms(20_000);
  while ((seen.match(/^verdict: /gm) ?? []).length < 2 && Date.now() < until) await delay(100);
  watch.kill('SIGTERM');
  await watch;
  expect((seen.match(/^verdict: healthy: replica 2 is the primary/gm) ?? []).length).toBeGreaterThanOrEqual(2);

  const stop = await tool(['stop', '1'], dir);
  expect(String(stop.stdout)).toMatch(/^replica 1 \(pid \d+\) stopped$/);
  await statusUntil(dir, /^verdict: healthy: replica 2 is the primary \(2 of 3 answering\)$/m);
  const unknown = await tool(['kill', '9'], dir);
  expect(unknown.exitCode).toBe(2);
  expect(String(unknown.stderr)).toContain('there is no replica 9; the replicas are 1, 2, 3');

  const down = await tool(['down'], dir);
  expect(String(down.stdout)).toMatch(/^stopped 3 replicas; their data and logs are in /);
  const after = await tool(['status'], dir);
  expect(after.exitCode).toBe(1);
  expect(String(after.stderr)).toContain('no cluster is running here');
  for (const pid of [...started, ...pids(String(restart.stdout))]) expect(processAlive(pid) && !isZombie(pid), `pid ${pid}`).toBe(false);
});

/** One request on a fresh connection to host:port, and its reply's type and payload. */
async function request(host: string, port: number, frames: Buffer[]): Promise<{ type: number; value: unknown }[]> {
  const socket = net.connect({ host, port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let buffered = Buffer.alloc(0);
  const replies: { type: number; value: unknown }[] = [];
  await new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 12 && buffered.length >= 12 + buffered.readUInt32BE(8)) {
        const length = buffered.readUInt32BE(8);
        replies.push({ type: Number(buffered.readBigInt64BE(0)), value: decodeValue(buffered.subarray(12, 12 + length)) });
        buffered = buffered.subarray(12 + length);
      }
      if (replies.length === frames.length) resolve();
    });
    for (const f of frames) socket.write(f);
  });
  socket.destroy();
  return replies;
}

test.skipIf(process.platform !== 'linux')('three replicas on 127.0.0.2, 127.0.0.3 and 127.0.0.4 elect, replicate and fail over: nothing assumes one host', { timeout: ms(180_000) }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-cluster-'));
  dirs.push(dir);
  // Ports claimed on 127.0.0.1 are free machine-wide in the kit's claims; the other loopback
  // addresses are checked by the tool before it starts anything.
  const [p1, p2, p3] = (await ports(3)) as [number, number, number];
  const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
  const start = await tool(['start', '3', '--solution', '--hosts', hosts.join(','), '--ports', `${p1},${p2},${p3}`, '--heartbeat-ms', '100', '--timeout-ms', '1000'], dir);
  expect(start.exitCode, String(start.stderr)).toBe(0);
  expect(String(start.stdout)).toContain(`replica 1: listening on 127.0.0.2:${p1}`);
  expect(String(start.stdout)).toContain(`replica 3: listening on 127.0.0.4:${p3}`);
  await statusUntil(dir, /^verdict: healthy: replica 3 is the primary \(3 of 3 answering\)$/m);

  // A message written on the primary, at 127.0.0.4, reaches the backups at .2 and .3.
  const replies = await request('127.0.0.4', p3, [
    message(T.CREATE_ACCOUNT, map({ name: 'alice', password: 'pw' })),
    message(T.CREATE_ACCOUNT, map({ name: 'bob', password: 'pw' })),
    message(T.LOGIN, map({ name: 'alice', password: 'pw' })),
    message(T.SEND, map({ to: 'bob', text: 'across three addresses', client: 7n, seq: 1n })),
  ]);
  expect(replies.map((r) => r.type)).toEqual([T.ACCOUNT_CREATED, T.ACCOUNT_CREATED, T.LOGGED_IN, T.SENT]);
  const status = await statusUntil(dir, /^2\s+127\.0\.0\.3:\d+\s+up \d+\s+backup\s+3\s+3\s+3\s+1 3$/m);
  expect(status).toMatch(/^1\s+127\.0\.0\.2:\d+\s+up \d+\s+backup\s+3\s+3\s+3\s+2 3$/m);

  // The primary crashes; one of the others takes over on its own address.
  await tool(['kill', '3'], dir);
  await statusUntil(dir, /^verdict: healthy: replica 2 is the primary \(2 of 3 answering\)$/m);
  const more = await request('127.0.0.3', p2, [
    message(T.LOGIN, map({ name: 'alice', password: 'pw' })),
    message(T.SEND, map({ to: 'bob', text: 'after the failover', client: 7n, seq: 2n })),
  ]);
  expect(more.map((r) => r.type)).toEqual([T.LOGGED_IN, T.SENT]);
});

/** A replica's row as `status` makes it, from its STATUS answer. */
function row(id: number, answer: Partial<Answer> | undefined): Row {
  return { id, address: `127.0.0.1:${7100 + id}`, process: answer ? 'running' : 'gone', pid: 100 + id, answer: answer && { id, role: 'backup', primary: 0, last: 3, commit: 3, alive: [], ...answer } };
}

test('lab 7: the table has a term column, and the verdict wants one primary per term', () => {
  const healthy = [row(1, { primary: 2, term: 4 }), row(2, { role: 'primary', primary: 2, term: 4 }), row(3, { primary: 2, term: 4 })];
  const table = render(healthy).split('\n');
  expect(table[0]).toMatch(/^replica\s+address\s+process\s+role\s+term\s+primary\s+log\s+commit\s+alive$/);
  expect(table[2]).toMatch(/^2\s+127\.0\.0\.1:7102\s+up 102\s+primary\s+4\s+2\s+3\s+3\s+-$/);
  expect(table.at(-1)).toBe('verdict: healthy: replica 2 is the primary of term 4 (3 of 3 answering)');

  // Two primaries in one term: the split brain lab 7 must never show.
  expect(verdict([row(1, { role: 'primary', primary: 1, term: 4 }), row(2, { primary: 1, term: 4 }), row(3, { role: 'primary', primary: 3, term: 4 })])).toBe('two primaries in term 4: replicas 1 and 3 (split brain; 3 of 3 answering)');
  // An old primary, cut off, that has not heard of term 5 yet: stale, and the cluster has its primary.
  expect(verdict([row(1, { role: 'primary', primary: 1, term: 4 }), row(2, { role: 'primary', primary: 2, term: 5 }), row(3, { primary: 2, term: 5 })])).toBe('replica 2 is the primary of term 5 (3 of 3 answering); replica 1 still claims term 4 (a stale primary: its term is over)');
  expect(verdict([row(1, { role: 'candidate', term: 6 }), row(2, { role: 'primary', primary: 2, term: 5 }), row(3, { primary: 2, term: 5 })])).toBe('replica 2 is the primary of term 5, but replica 1 follows no one (3 of 3 answering)');
  expect(verdict([row(1, { role: 'candidate', term: 6 }), row(2, undefined), row(3, { term: 6 })])).toBe('no primary (2 of 3 answering); an election is under way');

  // Lab 6 gives no terms: no term column, and any two primaries are one too many.
  const lab6 = [row(1, { role: 'primary', primary: 1 }), row(2, { primary: 1 }), row(3, { role: 'primary', primary: 3 })];
  expect(render(lab6).split('\n')[0]).toMatch(/^replica\s+address\s+process\s+role\s+primary\s+log\s+commit\s+alive$/);
  expect(verdict(lab6)).toBe('more than one primary: replicas 1 and 3 (3 of 3 answering)');
});
