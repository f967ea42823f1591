// `npm run cluster -- start 3 --view` against lab 7's reference solution, driven from the page in
// headless Chromium as a student would click it: the page shows three replicas with their roles
// and terms; its client's chat message is acknowledged; a kill clicked on the page takes that
// replica down and another becomes the primary in a newer term; a restart in a terminal shows on
// the page; a partition clicked on the page is what `npm run cluster -- status` shows, and a cut
// made in a terminal shows on the page; step mode
// holds the replicas' messages until one is released or dropped; a failed test's trace opens in
// the same page and scrubs; and the page asks for nothing beyond loopback. A screenshot is kept
// in .switchboard/screenshots.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { afterEach, expect, test, type TestContext } from 'vitest';
import { claimPort, type PortClaim } from '../harness/ports.js';
import { chromiumPath, openPage, screenshot, type Page } from './browser.js';
import { kitArgs, ms, root } from './support.js';

const main = path.join(root, 'grader', 'cluster', 'main.ts');
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tool(args: string[], dir: string) {
  return execa(process.execPath, [...kitArgs(main), ...args, '--dir', dir], { cwd: root, env: { NO_COLOR: '1', INIT_CWD: root }, reject: false, timeout: ms(30_000) });
}

/** Waits until `check` gives a value, or fails saying what it waited for and what it saw last. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + ms(timeoutMs);
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`waited ${ms(timeoutMs)} ms for ${what}`);
    await delay(100);
  }
}

interface Card {
  id: number;
  process: string;
  role: string;
  term: string;
}

/** What the page shows of each replica. */
function cards(page: Page): Promise<Card[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('[data-replica]')].map((card) => ({
      id: Number(card.dataset.replica),
      process: card.querySelector('[data-fact=process]')?.textContent ?? '',
      role: card.querySelector('[data-fact=role]')?.textContent ?? '',
      term: card.querySelector('[data-fact=term]')?.textContent ?? '',
    })),
  );
}

const primaryOf = (list: Card[]) => {
  const primaries = list.filter((c) => c.role === 'primary' && c.process.startsWith('up'));
  return primaries.length === 1 && list.filter((c) => c.role === 'backup').length >= 1 ? primaries[0] : undefined;
};

test('the cluster view: roles and terms, a kill, a partition and step mode, clicked in Chromium', { timeout: ms(120_000) }, async (context: TestContext) => {
  // Without a browser, skipped (or failed, in CI) before anything starts.
  if (!chromiumPath()) await openPage(context);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-view-'));
  const claims: PortClaim[] = [];
  for (let i = 0; i < 3; i++) claims.push(await claimPort('a replica of the cluster view test'));
  const view: ResultPromise = execa(process.execPath, [...kitArgs(main), 'start', '3', '--lab', '7', '--solution', '--view', '--ports', claims.map((c) => c.port).join(','), '--heartbeat-ms', '100', '--timeout-ms', '1000', '--dir', dir], { cwd: root, env: { NO_COLOR: '1', INIT_CWD: root }, reject: false });
  cleanups.push(async () => {
    // SIGTERM: the view stops its replicas (as Ctrl-C does); `down` in case it could not.
    view.kill('SIGTERM');
    await Promise.race([view, delay(ms(10_000))]);
    view.kill('SIGKILL');
    if (existsSync(path.join(dir, 'cluster.json'))) await tool(['down'], dir);
    rmSync(dir, { recursive: true, force: true });
    for (const c of claims) c.release();
  });
  let out = '';
  view.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  // The browser starts while the cluster does.
  const { page, network } = await openPage(context, { loopback: true });
  const url = await until(`the view's URL (it printed ${JSON.stringify(out)})`, async () => /^view: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out)?.[1], 30_000);

  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.setViewportSize({ width: 1300, height: 900 });
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { viewReady?: boolean }).viewReady, undefined, { timeout: ms(15_000) });

  // Three replicas, one primary, each with its term.
  const first = await until('one primary and its backups on the page', async () => primaryOf(await cards(page)));
  const all = await cards(page);
  expect(all.map((c) => c.id)).toEqual([1, 2, 3]);
  for (const c of all) expect(c.term, `replica ${c.id}'s term`).toMatch(/^\d+$/);
  await until('messages between replicas drawn', async () => ((await page.locator('#diagram line.msg').count()) > 0 ? true : undefined));

  // A chat message from the page's client: acknowledged (by the primary, which the view tries first).
  await page.locator('#chat-send').click();
  await until('the chat message acknowledged', async () => ((await page.locator('#chats').textContent())?.match(/"hello" from ann to bob: acknowledged by replica \d after \d+ ms \(SENT \{id: \d+\}\)/) ? true : undefined));

  // A kill from the page: that replica is down, and another is the primary of a newer term.
  await page.locator(`[data-replica="${first.id}"] [data-act=kill]`).click();
  const second = await until('a new primary after the kill', async () => {
    const now = await cards(page);
    const p = now.find((c) => c.role === 'primary' && c.id !== first.id);
    return now.find((c) => c.id === first.id)?.process === 'down' && p && Number(p.term) > Number(first.term) ? p : undefined;
  });
  // A restart from a terminal shows on the page.
  const restart = await tool(['restart', String(first.id)], dir);
  expect(restart.exitCode, String(restart.stderr)).toBe(0);
  await until('the killed replica back on the page', async () => ((await cards(page)).find((c) => c.id === first.id)?.process.startsWith('up') ? true : undefined));

  // A partition from the page: the new primary alone. `status` in a terminal shows it.
  await page.locator(`select[data-group="${second.id}"]`).selectOption('B');
  await page.locator('#partition').click();
  const others = [1, 2, 3].filter((id) => id !== second.id).join(' ');
  const status = await until('the partition in `cluster status`', async () => {
    const text = String((await tool(['status'], dir)).stdout);
    return text.includes(`links: partitioned: ${others} | ${second.id}`) || text.includes(`links: partitioned: ${second.id} | ${others}`) ? text : undefined;
  });
  expect(status).toMatch(/^replica\s+address\s+process\s+role\s+term\s+primary\s+log\s+commit\s+alive$/m);
  await until('a primary of the majority side', async () => {
    const p = primaryOf((await cards(page)).filter((c) => c.id !== second.id));
    return p && Number(p.term) > Number(second.term) ? p : undefined;
  });
  await screenshot(page, path.join(root, '.switchboard', 'screenshots'), 'cluster-view');
  await page.locator('#heal-all').click();
  await until('the links healed on the page', async () => ((await page.locator('#links').textContent()) === 'every link delivers' ? true : undefined));
  // A one-way cut from a terminal shows on the page, and a heal from a terminal too.
  expect(String((await tool(['cut', '1', '2', '--one-way'], dir)).stdout)).toBe('what replica 1 sends replica 2 is dropped');
  await until('the cut on the page', async () => ((await page.locator('#links').textContent()) === 'cut: 1>2 (a-b: both ways; a>b: what a sends b)' && (await page.locator('[data-link="1>2"]').textContent()) === 'cut' ? true : undefined));
  expect(String((await tool(['heal'], dir)).stdout)).toBe('every link is healed');
  await until('the links healed on the page', async () => ((await page.locator('#links').textContent()) === 'every link delivers' ? true : undefined));

  // Step mode: messages wait until released, one at a time, or dropped.
  await page.locator('#step').check();
  await until('a few messages held', async () => ((await page.locator('[data-held]').count()) >= 4 ? true : undefined));
  const heldIds = async () => page.locator('[data-held]').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.held)));
  const before = await heldIds();
  // Still held after several more rounds of the page's updates (more messages queue behind them).
  await until('more messages queued behind the first', async () => ((await heldIds()).length > before.length + 2 ? true : undefined));
  expect((await heldIds()).slice(0, before.length)).toEqual(before);
  const releasable = page.locator('[data-held] [data-act=release]:not([disabled])').first();
  const target = Number(await releasable.evaluate((b) => (b.parentElement as HTMLElement).dataset.held));
  await releasable.click();
  await until(`message #${target} delivered`, async () => ((await page.locator('#notice').textContent()) === `message #${target} delivered` ? true : undefined));
  // The reply to the click and the page's next update come on different connections: wait for the update.
  await until(`message #${target} gone from the held list`, async () => (!(await heldIds()).includes(target) ? true : undefined));
  const dropped = (await heldIds())[0]!;
  await page.locator(`[data-held="${dropped}"] [data-act=drop]`).click();
  await until(`message #${dropped} dropped`, async () => ((await page.locator('#notice').textContent()) === `message #${dropped} dropped` ? true : undefined));
  await page.locator('#step').uncheck();
  await until('nothing held once step mode is off', async () => ((await page.locator('[data-held]').count()) === 0 ? true : undefined));

  // Replay: a failed test's trace, opened in the same page and scrubbed through.
  const trace = path.join(dir, 'trace.jsonl');
  const lines = [
    { trace: 1, test: '7.3 a made-up failure', outcome: 'failed' },
    ...['replica 1', 'replica 2', 'replica 3'].map((name, id) => ({ kind: 'lane', id, name, role: 'program' })),
    { kind: 'msg', from: 0, to: 1, sent: 100, recv: 101, type: 'APPEND', text: 'APPEND (201) {from: 1, term: 2}' },
    { kind: 'msg', from: 1, to: 0, sent: 150, recv: 152, type: 'APPENDED', text: 'APPENDED (202) {from: 2, term: 2}' },
    { kind: 'msg', from: 2, to: 0, sent: 2_000, type: 'VOTE_REQUEST', text: 'VOTE_REQUEST (203) {from: 3, term: 3}', lost: 'partition' },
  ];
  writeFileSync(trace, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  await page.locator('#trace-file').setInputFiles(trace);
  await until('the trace drawn', async () => ((await page.locator('#mode').textContent()) === 'replay of 7.3 a made-up failure (failed)' ? true : undefined));
  expect(await page.locator('#diagram line.msg').count()).toBe(3);
  expect(await page.locator('#diagram line.dropped').count()).toBe(1);
  await page.locator('#scrub').fill('90'); // 9% of the trace's 2 s: the first two messages
  expect(await page.locator('#diagram line.msg').count()).toBe(2);
  await page.locator('#back-live').click();
  expect(await page.locator('#mode').textContent()).toBe('live');

  expect(errors).toEqual([]);
  expect(network).toEqual([]);
});
