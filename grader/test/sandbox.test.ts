// grader/sandbox, program by program: tiny hostile programs started confined, as grading others'
// code starts them, each checked for what it may not do and for the reason its run gives. Linux
// with bubblewrap (CI installs it); elsewhere these say why they are skipped.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, onTestFinished, test } from 'vitest';
import { GroupRegistry } from '../harness/groups.js';
import { Proc } from '../harness/process.js';
import { groupPids, isZombie } from '../harness/procfs.js';
import { bwrapWorks, claimSlot, graderNetns, isRoot, makePlan, ownDataDir, type Confinement, type SandboxPlan } from '../sandbox/index.js';
import { removeDir, tempDir } from './fixtures/instructor/submissions.js';
import { poll } from '../harness/wait.js';
import { ms, root } from './support.js';

const usable = process.platform === 'linux' && bwrapWorks();
const home = tempDir('sandbox');
// The grading user (as root) passes through to each program's folders.
chmodSync(home, 0o711);
const registry = new GroupRegistry(path.join(home, 'groups'), process.pid, process.pid);
const started: Proc[] = [];
// As root, a grading user of our own: other graders on the machine end every process of theirs.
const claimed = usable && isRoot ? claimSlot() : undefined;
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  claimed?.release();
  removeDir(home);
});

let count = 0;
/** Starts `source` (a CommonJS script) confined by a fresh plan, its limits changed by `limits`. */
async function confined(source: string, options: { limits?: Partial<SandboxPlan['limits']>; netns?: boolean; noBwrap?: boolean; slot?: number } = {}) {
  const dir = path.join(home, `p${++count}`);
  const scripts = path.join(dir, 'program');
  const data = path.join(dir, 'data');
  mkdirSync(scripts, { recursive: true });
  mkdirSync(data, { recursive: true });
  writeFileSync(path.join(scripts, 'main.cjs'), source);
  const netns = options.netns ? graderNetns(path.join(dir, 'groups')) : undefined;
  const plan = makePlan({ slot: options.slot ?? claimed?.slot ?? 1, work: path.join(dir, 'work'), loopbackOnly: Boolean(netns) })!;
  if (options.noBwrap) plan.bwrap = false;
  plan.limits = { ...plan.limits, ...options.limits };
  ownDataDir(plan, data);
  const confinement: Confinement = { plan, readable: [scripts], writable: [data], home: path.join(plan.work, 'home') };
  const proc = new Proc({
    name: 'probe',
    command: [process.execPath, path.join(scripts, 'main.cjs'), data, root],
    prefix: netns,
    confinement,
    cwd: scripts,
    logFile: path.join(dir, 'probe.log'),
    logCapBytes: 1 << 20,
    registry,
  });
  started.push(proc);
  await proc.start();
  return { proc, plan, data };
}

describe.skipIf(!usable)('a confined program', () => {
  test('finds nothing of the kit, the grader or the home folder, and sees only loopback', async () => {
    const { proc } = await confined(`
      const fs = require('fs');
      const [data, kit] = process.argv.slice(2);
      const tries = {
        'read a hidden test': () => fs.readFileSync(kit + '/labs/01-echo/hidden/lab.ts', 'utf8'),
        'list solutions': () => fs.readdirSync(kit + '/solutions'),
        'change the grader': () => fs.appendFileSync(kit + '/grader/results.ts', '//'),
        "the parent's working folder": () => fs.readlinkSync('/proc/' + process.ppid + '/cwd'),
        'the home folder': () => fs.readdirSync(${JSON.stringify(os.homedir())}),
        'an interface but lo': () => { const n = fs.readFileSync('/proc/net/dev', 'utf8').split('\\n').slice(2).map((l) => l.trim().split(':')[0]).filter((x) => x && x !== 'lo'); if (!n.length) throw new Error('only lo'); return n; },
        'the grader environment': () => { const k = Object.keys(process.env).filter((k) => k.startsWith('SWITCHBOARD')); if (!k.length) throw new Error('none'); return k; },
      };
      const got = {};
      for (const [what, run] of Object.entries(tries)) { try { got[what] = 'GOT ' + JSON.stringify(run()).slice(0, 80); } catch (e) { got[what] = 'blocked'; } }
      fs.writeFileSync(data + '/mine', 'a data folder is writable');
      console.log(JSON.stringify(got));
    `, { netns: true });
    const line = await proc.expectOutput(/^\{/, { timeoutMs: 10_000 });
    const got = JSON.parse(line) as Record<string, string>;
    expect(Object.entries(got).filter(([, v]) => v !== 'blocked')).toEqual([]);
    expect(Object.keys(got)).toHaveLength(7);
    await proc.expectExit(0);
  });

  test('a fork bomb stops at the process limit, and the reason says so', async () => {
    const { proc, plan } = await confined(`
      const { spawn } = require('child_process');
      const kid = () => { const c = spawn(process.execPath, [__filename, ...process.argv.slice(2)], { stdio: 'inherit' }); c.on('error', (e) => { console.log('spawn failed: ' + e.code); console.error('spawn failed: ' + e.code); }); };
      kid(); kid(); setInterval(() => {}, 1000);
    `);
    // The limit shows one of two ways, by the race of the bomb's own processes: a spawn fails with
    // EAGAIN, or a new Node starts but cannot make its threads and aborts (uv_thread_create). Both
    // are on standard error, which names the limit.
    const note = await poll(() => proc.limitNote(), { timeoutMs: ms(30_000), explain: () => `no limit named on standard error; its last lines:\n${proc.tailText(8)}` });
    expect(note).toBe(`process limit ${plan.limits.processes}`);
    const group = proc.pid!;
    await proc.stop();
    // Killed: nothing of the group runs (a zombie waits for its new parent to collect it).
    expect((groupPids(group) ?? []).filter((pid) => !isZombie(pid))).toEqual([]);
  });

  test('a 20 GiB allocation ends the program, naming the memory limit', async () => {
    const { proc, plan } = await confined(`const all = new ArrayBuffer(20 * 2 ** 30); console.log('allocated', all.byteLength);`);
    await proc.expectExit('nonzero', { allowCrash: true, timeoutMs: 20_000 });
    expect(proc.exitText()).toContain(`memory limit ${plan.limits.memoryBytes / 2 ** 30} GiB`);
  });

  test('a disk filler is stopped at the disk limit; a file too large at the file size limit', async () => {
    const filler = await confined(`const fs = require('fs'); const chunk = Buffer.alloc(4 * 2 ** 20, 1); for (let i = 0; ; i++) fs.writeFileSync(process.argv[2] + '/f' + i, chunk);`, { limits: { diskBytes: 32 * 2 ** 20 } });
    const large = await confined(`require('fs').writeFileSync(process.argv[2] + '/big', Buffer.alloc(16 * 2 ** 20, 1));`, { limits: { fileBytes: 8 * 2 ** 20 } });
    await filler.proc.expectExit('nonzero', { allowCrash: true, timeoutMs: 20_000 }).catch(() => undefined);
    expect(filler.proc.exitText()).toMatch(/killed by SIGKILL .*disk limit 32 MiB/);
    await large.proc.expectExit('nonzero', { allowCrash: true, timeoutMs: 10_000 });
    expect(large.proc.exitText()).toContain('file size limit 8 MiB');
  });

  test('a busy loop is killed at the CPU time limit', async () => {
    const { proc } = await confined('for (;;) {}', { limits: { cpuSeconds: 1 } });
    await proc.expectExit('nonzero', { allowCrash: true, timeoutMs: 20_000 }).catch(() => undefined);
    expect(proc.exitText()).toMatch(/killed by SIGXCPU .*CPU time limit 1 s/);
  });

  test('SIGTERM reaches the program, whose own exit status comes back', async () => {
    const { proc } = await confined(`process.on('SIGTERM', () => { console.log('bye'); process.exit(0); }); console.log('up'); setInterval(() => {}, 1000);`);
    await proc.expectOutput('up');
    await proc.kill('SIGTERM');
    expect(proc.exit).toEqual({ code: 0, signal: null });
    // Its last words, as the grader read them (the log file is written behind, and may lag).
    await proc.expectOutput('bye');
  });
}, ms(60_000));

test.runIf(usable && process.getuid?.() === 0)('as root without bubblewrap, the grading user is kept out of a folder closed to it', async () => {
  const closed = path.join(home, 'closed');
  mkdirSync(closed, { mode: 0o700 });
  writeFileSync(path.join(closed, 'hidden.txt'), 'secret');
  // A grading user of its own: without bubblewrap the process limit counts every process of the
  // user, and the fork bomb's last zombies may still be waiting to be collected.
  const own = claimSlot();
  onTestFinished(() => own.release());
  const { proc, plan } = await confined(`
    const fs = require('fs');
    let got; try { got = fs.readFileSync(${JSON.stringify(path.join(closed, 'hidden.txt'))}, 'utf8'); } catch (e) { got = e.code; }
    console.log(process.getuid(), got);
  `, { noBwrap: true, slot: own.slot });
  await proc.expectOutput(`${plan.user!.uid} EACCES`, { timeoutMs: 10_000 });
  await proc.expectExit(0);
});

test.runIf(!usable)('confinement needs Linux and bubblewrap', () => {
  expect(usable).toBe(false);
});
