// The orphan reaper kills only what it can prove is its own. Where /proc gives no start time
// (macOS, Windows), the proof is the creation time the OS reports: no later than the record.
// Here the records are written as a grader on those systems writes them (no /proc start time),
// and the creation times come from `ps`, as on macOS.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { creationTimes, GroupRegistry, isWindows, parseCreationTimes } from '../harness/groups.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-reaper-'));
const started: ChildProcess[] = [];

afterAll(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A long-running program in a group of its own, as the harness starts one. */
function orphan(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: !isWindows, stdio: 'ignore' });
  child.unref();
  started.push(child);
  return child;
}

/** A pid that is certainly dead: a process that has already exited. */
async function deadPid(): Promise<number> {
  const dead = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => dead.on('exit', resolve));
  return dead.pid!;
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 40 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

describe('the orphan reaper without /proc', () => {
  test('reads the creation times that ps and PowerShell print', () => {
    const lstart = parseCreationTimes('  812 Tue Dec  1 20:59:05 2026\n99 garbage\n', 'lstart');
    expect([...lstart.keys()]).toEqual([812]);
    expect(new Date(lstart.get(812)!).getFullYear()).toBe(2026);
    // 2024-01-01T00:00:00Z as a Windows FILETIME.
    const filetime = parseCreationTimes('4242 133485408000000000\r\n17 \r\n', 'filetime');
    expect(filetime).toEqual(new Map([[4242, Date.parse('2024-01-01T00:00:00Z')]]));
  });

  test.skipIf(isWindows)('asks ps for the creation time of live processes only', () => {
    const times = creationTimes([process.pid, 999_999_999]);
    expect([...times.keys()]).toEqual([process.pid]);
    const uptime = process.uptime() * 1000;
    expect(times.get(process.pid)!).toBeLessThanOrEqual(Date.now() - uptime + 1000);
    expect(times.get(process.pid)!).toBeGreaterThan(Date.now() - uptime - 60_000);
  });

  test.skipIf(isWindows)('reaps an orphan created before its record, and leaves alone one created after it (a reused pid)', async () => {
    const groups = path.join(dir, 'groups');
    mkdirSync(groups, { recursive: true });
    const dead = await deadPid();
    const ours = orphan();
    const stranger = orphan();
    // What a grader without /proc records: the time just after the spawn returned.
    const record = (pid: number, at: Date, command: string) =>
      writeFileSync(path.join(groups, `${pid}.json`), JSON.stringify({ pgid: pid, owner: dead, run: dead, command, started: at.toISOString() }));
    record(ours.pid!, new Date(), 'node ours');
    // The record of a program that ran an hour ago, whose pid the stranger now has.
    record(stranger.pid!, new Date(Date.now() - 3_600_000), 'node an hour ago');

    const reaped = new GroupRegistry(groups, process.pid, process.pid).reapOrphans();
    expect(reaped).toEqual(['node ours']);
    expect(await gone(ours.pid!)).toBe(true);
    expect(alive(stranger.pid!)).toBe(true);
    // Both records are done with: one reaped, one proven not to be ours.
    expect(readdirSync(groups)).toEqual([]);
  });

  test.skipIf(process.platform !== 'linux')('on Linux, a leader whose /proc start time differs from the record is not ours', async () => {
    const groups = path.join(dir, 'linux');
    mkdirSync(groups, { recursive: true });
    const dead = await deadPid();
    const stranger = orphan();
    writeFileSync(
      path.join(groups, `${stranger.pid}.json`),
      JSON.stringify({ pgid: stranger.pid, owner: dead, run: dead, command: 'node other', started: new Date().toISOString(), startTicks: '1' }),
    );
    expect(new GroupRegistry(groups, process.pid, process.pid).reapOrphans()).toEqual([]);
    expect(alive(stranger.pid!)).toBe(true);
  });
});

describe('group records', () => {
  test('are renamed into place whole, and one still being written is left alone by a reader', async () => {
    const groups = path.join(dir, 'records');
    const registry = new GroupRegistry(groups, process.pid, process.pid);
    const child = orphan();
    registry.record(child.pid!, 'node recorded');
    expect(readdirSync(groups)).toEqual([`${child.pid}.json`]);
    // A writer still at work (this process) and one killed mid-write (a dead pid).
    const dead = await deadPid();
    writeFileSync(path.join(groups, `12345.json.${process.pid}.tmp`), '{"pgid":');
    writeFileSync(path.join(groups, `12346.json.${dead}.tmp`), '{"pg');
    // Reading the folder at that moment (Ctrl+C) kills what is recorded and deletes no record in the making.
    expect(registry.killRun()).toBe(1);
    expect(await gone(child.pid!)).toBe(true);
    expect(readdirSync(groups)).toEqual([`12345.json.${process.pid}.tmp`]);
  });
});
