// The traces of real failing runs, opened in headless Chromium: a lab 4 mutant (the grader's
// servers and clients beside yours) and a lab 6 mutant (replicas talking through the grader's
// proxies). The page must draw one arrow per message of its trace, show a message when its arrow
// is clicked, keep every receipt below its send in happens-before order, filter by type, and load
// nothing from the network. A screenshot of each is kept in .switchboard/screenshots.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test, type TestContext } from 'vitest';
import { openPage, screenshot } from './browser.js';
import { applyMutant, mutantsDir, readMutant } from './mutants.js';
import { cleanup, ms, root, runGrader } from './support.js';

const screenshots = path.join(root, '.switchboard', 'screenshots');
const folders: string[] = [];
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** A copy of a lab's solution with one line changed; the test fails loudly if the line is gone. */
function mutate(lab: string, file: string, from: string, to: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-trace-mutant-'));
  folders.push(dir);
  const copy = path.join(dir, lab);
  cpSync(path.join(root, 'solutions', lab), copy, { recursive: true });
  const text = readFileSync(path.join(copy, file), 'utf8');
  if (!text.includes(from)) throw new Error(`solutions/${lab}/${file} no longer has the line this test changes: ${from}`);
  writeFileSync(path.join(copy, file), text.replace(from, to));
  return copy;
}

interface Case {
  lab: number;
  phase: string;
  /** The implementation folder to grade. */
  impl: () => string;
  /** A lane the trace must have, and a message type it must show. */
  lane: RegExp;
  type: string;
}

const cases: [string, Case][] = [
  [
    'lab 4, a server that passes a server registration back where it came from',
    {
      lab: 4,
      phase: '4.1',
      impl: () => {
        const dir = applyMutant(readMutant('04-routing', path.join(mutantsDir, '04-routing', 'no-except-for-servers.patch')));
        folders.push(path.dirname(dir));
        return dir;
      },
      lane: /^G\d+$/,
      type: 'server registration',
    },
  ],
  [
    'lab 6, replicas that elect the lowest id',
    {
      lab: 6,
      phase: '6.1',
      impl: () => mutate('06-replication', 'election.ts', 'a.candidate > b.candidate;', 'a.candidate < b.candidate;'),
      lane: /^replica 3$/,
      type: 'HEARTBEAT',
    },
  ],
];

type Line = { kind?: string; type?: string; text?: string; name?: string; known?: string };

interface Report {
  phases: { tests: { name: string; state: string; trace?: string }[] }[];
}

for (const [title, c] of cases) {
  test(`the trace of a real failure in Chromium: ${title}`, { timeout: ms(420_000) }, async (context: TestContext) => {
    // First the browser: without one the test is skipped before any grading.
    const { page, network } = await openPage(context);
    const logs = mkdtempSync(path.join(os.tmpdir(), 'switchboard-trace-logs-'));
    folders.push(logs);
    const run = await runGrader([String(c.lab), '--impl', c.impl(), '--phase', c.phase, '--logs', logs], { timeoutMs: 360_000 });
    cleanup(run);
    const failed = (run.json as unknown as Report).phases.flatMap((p) => p.tests).filter((t) => t.state === 'failed');
    expect(failed.length, run.stdout).toBeGreaterThan(0);
    // Every failure names its trace, in the terminal too.
    for (const test of failed) expect(test.trace, test.name).toMatch(/trace\.html$/);
    expect(run.stdout).toContain(`trace: ${failed[0]!.trace}`);
    const html = path.resolve(root, failed[0]!.trace!);
    const jsonl = html.replace(/\.html$/, '.jsonl');
    expect(existsSync(html) && existsSync(jsonl)).toBe(true);
    const lines = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
    const events = lines.slice(1).filter((l) => l.kind !== 'lane');
    const messages = events.filter((e) => e.kind === 'msg');
    expect(lines.filter((l) => l.kind === 'lane').some((l) => c.lane.test(l.name ?? '')), 'lanes').toBe(true);
    expect(messages.some((m) => m.type === c.type), 'message types').toBe(true);

    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.goto(`file://${html}`);
    await page.waitForFunction(() => (window as unknown as { traceDrawn?: unknown }).traceDrawn, undefined, { timeout: ms(60_000) });
    const arrows = page.locator('#diagram line.msg');
    expect(await arrows.count()).toBe(messages.length);
    // The failure is said and marked.
    await expect(page.locator('#error').textContent()).resolves.toContain(String(events.find((e) => e.kind === 'failure')!.text).split('\n')[0]);
    expect(await page.locator('#diagram .failure').count()).toBeGreaterThan(0);

    // Click an arrow nothing else covers: the details show that message, decoded.
    const target = await page.evaluate(() => {
      for (const line of document.querySelectorAll<SVGLineElement>('#diagram line.msg')) {
        line.scrollIntoView({ block: 'center', inline: 'center' });
        const box = line.getBoundingClientRect();
        const x = box.left + box.width / 2;
        const y = box.top + box.height / 2;
        if (document.elementFromPoint(x, y) === line) return { x, y, i: Number(line.dataset.i) };
      }
      return undefined;
    });
    expect(target, 'an arrow that can be clicked').toBeDefined();
    await page.mouse.click(target!.x, target!.y);
    const clicked = events[target!.i]!;
    expect(clicked.kind).toBe('msg');
    const details = (await page.locator('#details').textContent()) ?? '';
    expect(details).toContain(`message: ${clicked.type}`);
    expect(details).toContain(clicked.text!);
    await screenshot(page, screenshots, `trace-lab${c.lab}`);

    // Happens-before order: every receipt is drawn below its send.
    await page.locator('input[name=order][value=lamport]').check();
    expect(await arrows.count()).toBe(messages.length);
    const upward = await arrows.evaluateAll((els) => els.filter((el) => Number(el.getAttribute('y2')) <= Number(el.getAttribute('y1'))).length);
    expect(upward).toBe(0);

    // Filtering out a type leaves every other message.
    const ofType = messages.filter((m) => m.type === c.type).length;
    await page.locator('#types label', { hasText: c.type }).locator('input').first().uncheck();
    expect(await arrows.count()).toBe(messages.length - ofType);

    expect(errors).toEqual([]);
    expect(network).toEqual([]);
  });
}
