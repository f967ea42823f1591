// Port claims: no port is handed to two programs at once anywhere on the machine, none comes from
// the ephemeral range, a claim dies with its owner, and a port held by a program outside the kit
// is never handed out. Each test uses a claims folder and a port range of its own.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { claimPort, ephemeralRange, listeningRange } from '../harness/ports.js';
import { root } from './support.js';

let claims: string;
const saved = { claims: process.env.SWITCHBOARD_PORT_CLAIMS, ports: process.env.SWITCHBOARD_PORTS };

beforeEach(() => {
  claims = mkdtempSync(path.join(os.tmpdir(), 'switchboard-claims-'));
  process.env.SWITCHBOARD_PORT_CLAIMS = claims;
});

afterEach(() => {
  process.env.SWITCHBOARD_PORT_CLAIMS = saved.claims;
  process.env.SWITCHBOARD_PORTS = saved.ports;
  rmSync(claims, { recursive: true, force: true });
});

/** A free stretch of `n` ports in the listening range, chosen at random (other runs may be busy). */
function someRange(n: number): { low: number; high: number } {
  const range = listeningRange();
  const low = range.low + Math.floor(Math.random() * (range.high - range.low - n));
  return { low, high: low + n - 1 };
}

test('listening ports lie outside the ephemeral range', () => {
  delete process.env.SWITCHBOARD_PORTS;
  const ephemeral = ephemeralRange();
  const range = listeningRange(ephemeral);
  expect(range.high < ephemeral.low || range.low > ephemeral.high).toBe(true);
  expect(range.high - range.low).toBeGreaterThan(1000);
  expect(listeningRange({ low: 1024, high: 65535 })).toEqual({ low: 1024, high: 65535 });
  expect(listeningRange({ low: 49152, high: 65535 })).toEqual({ low: 10000, high: 49151 });
});

test('concurrent processes claiming at once never get the same port', async () => {
  const { low, high } = someRange(300);
  const script = `
    import { claimPort } from ${JSON.stringify(path.join(root, 'grader', 'harness', 'ports.ts'))};
    const ports = [];
    for (let i = 0; i < 120; i++) ports.push((await claimPort('test')).port);
    process.stdout.write(JSON.stringify(ports));
    process.stdin.on('end', () => process.exit(0)).resume();
  `;
  const env = { ...process.env, SWITCHBOARD_PORT_CLAIMS: claims, SWITCHBOARD_PORTS: `${low}-${high}` };
  const children = [0, 1].map(() => spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, env, stdio: ['pipe', 'pipe', 'inherit'] }));
  const results = await Promise.all(
    children.map(
      (child) =>
        new Promise<number[]>((resolve) => {
          let out = '';
          child.stdout!.on('data', (chunk) => {
            out += chunk;
            try {
              resolve(JSON.parse(out) as number[]);
            } catch {
              // Not all of it yet.
            }
          });
        }),
    ),
  );
  // Both still hold their claims: 240 distinct ports, every one in the range, one claim file each.
  const all = results.flat();
  expect(new Set(all).size).toBe(240);
  expect(all.every((p) => p >= low && p <= high)).toBe(true);
  expect(readdirSync(claims).filter((f) => /^\d+$/.test(f))).toHaveLength(240);
  for (const child of children) child.stdin!.end();
  await Promise.all(children.map((child) => new Promise((resolve) => child.on('exit', resolve))));
  // Gone with their owners.
  expect(readdirSync(claims).filter((f) => /^\d+$/.test(f))).toHaveLength(0);
});

test('a claim whose owner is gone is taken over; a live one is not', async () => {
  const { low } = someRange(1);
  process.env.SWITCHBOARD_PORTS = `${low}-${low}`;
  const dead = spawn(process.execPath, ['-e', '0']);
  const deadPid = await new Promise<number>((resolve) => dead.on('exit', () => resolve(dead.pid!)));
  writeFileSync(path.join(claims, String(low)), JSON.stringify({ pid: deadPid, nonce: 'old', what: 'a grader killed outright', at: '' }));
  const claim = await claimPort();
  expect(claim.port).toBe(low);
  await expect(claimPort()).rejects.toThrow(new RegExp(`no free port in ${low}–${low}`));
  claim.release();
  expect(readdirSync(claims).filter((f) => /^\d+$/.test(f))).toHaveLength(0);
});

test('a port a program outside the kit listens on is never handed out', async () => {
  const { low, high } = someRange(10);
  process.env.SWITCHBOARD_PORTS = `${low}-${high}`;
  const squatters: net.Server[] = [];
  for (let port = low; port < low + 6; port++) {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.once('error', () => resolve()).listen(port, '127.0.0.1', resolve));
    squatters.push(server);
  }
  const got = [];
  for (let i = 0; i < 4; i++) got.push(await claimPort());
  expect(got.map((c) => c.port).sort()).toEqual([low + 6, low + 7, low + 8, low + 9]);
  await expect(claimPort()).rejects.toThrow(/no free port/);
  for (const claim of got) claim.release();
  for (const server of squatters) server.close();
});
