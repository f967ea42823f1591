// A phase runs only after the phases it needs have passed (lab.ts, `needs`). The grader hands all
// the selected phases to vitest at once, in the lab's order, and vitest gives each free worker
// the next file in that order; the grader marks each phase as it ends (engine.ts), and a phase's
// file waits, before its first test, until every phase it needs is marked. If one failed, its
// tests are skipped and the report calls the phase blocked.
//
// Why not run the phases in waves, each after the last: each wave started its own test workers
// (a second or more of CPU each), and a wave waited for its slowest phase even where a phase of
// the next needed only a quick one. Why this cannot deadlock: a phase only needs earlier phases,
// which were handed out before it, so each is running or done; the earliest phase still waiting
// waits only on running phases, which end within their deadlines.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LabSpec, PhaseSpec } from '../lab.js';
import type { RunConfig } from './config.js';
import { poll, scaled } from './wait.js';

function markFile(runDir: string, id: string): string {
  return path.join(runDir, 'phases', `${id}.json`);
}

/** Says that phase `id` has ended, and whether it failed (written whole, then renamed into place). */
export function markPhaseEnded(runDir: string, id: string, failed: boolean): void {
  const file = markFile(runDir, id);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify({ failed }));
  renameSync(`${file}.tmp`, file);
}

/** The needs of `phase` among the phases this run grades (needs not selected are not waited for). */
export function selectedNeeds(config: RunConfig, phase: PhaseSpec): string[] {
  return (phase.needs ?? []).filter((id) => config.phases?.includes(id));
}

/** How long a phase may wait for its needs: as long as every phase before it could take, one after another. */
export function needsTimeoutMs(config: RunConfig, lab: LabSpec, phase: PhaseSpec): number {
  const before = lab.phases.slice(0, lab.phases.indexOf(phase)).filter((p) => config.phases?.includes(p.id));
  return scaled(before.reduce((sum, p) => sum + p.timeoutMs, 30_000));
}

/**
 * Waits until every selected need of `phase` has ended; returns those that failed (or never
 * ended within the wait, which a grader that stopped early leaves behind). Outside a grader run
 * (the tests run straight under vitest) there is nothing to wait for.
 */
export async function waitForNeeds(config: RunConfig, lab: LabSpec, phase: PhaseSpec): Promise<string[]> {
  const end = Date.now() + needsTimeoutMs(config, lab, phase) - scaled(5_000);
  const failed: string[] = [];
  for (const id of selectedNeeds(config, phase)) {
    const file = markFile(config.runDir, id);
    const mark = await poll(() => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { failed: boolean }) : undefined), {
      timeoutMs: Math.max(0, end - Date.now()),
      explain: () => `phase ${id} did not end`,
    }).catch(() => ({ failed: true }));
    if (mark.failed) failed.push(id);
  }
  return failed;
}
