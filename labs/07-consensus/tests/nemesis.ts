// The nemesis of phase 7.5 (and of the hidden phase, with other settings): a seeded schedule of
// faults against a cluster while grader clients write, then every fault healed, then the whole
// history checked (grader/replication/checker.ts, lab 7's rules).
//
// The schedule is drawn from h.random before the first fault, as data, and written to the
// transcript: SWITCHBOARD_SEED replays it step for step. Which replica "the primary" is at a step
// is the one thing decided as the run goes. The faults, one per step, each held for a while and
// then undone; steps overlap (the next may start before this one is undone), so faults combine:
//   pause      SIGSTOP a replica (the primary, half the time), SIGCONT it when the hold ends
//   kill       kill -9 a replica (the primary, half the time), start it again on its directory
//   partition  a random split of the replicas in two, both ways
//   one-way    some links cut in one direction only
//   delay      some links delay every message by 20 to 300 ms
//   cut        some connections reset (what was in flight is lost); they open again at once
//   answer     a named point (grader/explore/points.ts): kill -9 the first backup whose APPENDED
//              reaches the proxy, before the primary reads it; half the time the primary too, the
//              moment its APPENDs show the new commit index, kept down three times T longer so
//              that the others elect without it; each starts again on its directory
import { setTimeout as delay } from 'node:timers/promises';
import type { Harness } from '../../../grader/harness/index.js';
import { intAt, type Points } from '../../../grader/explore/points.js';
import { Writer, makeAccounts, newCluster, type Cluster } from './consensus.js';
import { T7 } from './wire.js';

export interface NemesisOptions {
  size: number;
  steps: number;
  /** How long a fault is held, in ms: from, to. */
  holdMs?: [number, number];
  compactAfter?: number;
  writers?: number;
  /** Names the data directories (grader/explore runs several nemeses in one test). */
  dirPrefix?: string;
}

type Kind = 'pause' | 'kill' | 'partition' | 'one-way' | 'delay' | 'cut' | 'answer';

/** Each kind, as often as it appears here. */
const kinds: Kind[] = ['pause', 'pause', 'pause', 'kill', 'kill', 'partition', 'partition', 'partition', 'one-way', 'one-way', 'delay', 'delay', 'cut', 'answer', 'answer'];

export interface Step {
  kind: Kind;
  /** How long the fault is held, and how long until the next step starts (at most the hold). */
  hold: number;
  gap: number;
  /** pause, kill: "the primary" (0) or a replica's id. */
  victim: number;
  /** partition: one side (the other is the rest). */
  side: number[];
  /** one-way, delay, cut: the links (from, to), and each one's delay. */
  links: [number, number][];
  delays: number[];
  /** answer: the primary killed too. */
  pair: boolean;
}

/** The schedule: every step drawn now, a fixed number of draws each, so that a seed gives one schedule. */
export function schedule(h: Harness, ids: number[], options: NemesisOptions): Step[] {
  const [low, high] = options.holdMs ?? [300, 1_500];
  const all = ids.flatMap((a) => ids.filter((b) => b !== a).map((b) => [a, b] as [number, number]));
  return Array.from({ length: options.steps }, () => {
    const kind = h.random.pick(kinds);
    const hold = h.random.int(low, high);
    const gap = h.random.int(100, hold);
    const victim = h.random.chance(0.5) ? 0 : h.random.pick(ids);
    const shuffled = h.random.shuffle(ids);
    const side = shuffled.slice(0, h.random.int(1, ids.length));
    const links = h.random.shuffle(all).slice(0, h.random.int(1, ids.length + 1));
    const delays = links.map(() => h.random.int(20, 300));
    const pair = h.random.chance(0.5);
    return { kind, hold, gap, victim, side, links, delays, pair };
  });
}

export function describeStep(step: Step, ids: number[]): string {
  const who = step.victim === 0 ? 'the primary' : `replica ${step.victim}`;
  const links = step.links.map(([a, b]) => `${a}→${b}`).join(', ');
  const what = {
    pause: `pause ${who}`,
    kill: `kill -9 ${who}, then restart it`,
    partition: `partition {${step.side.join(', ')}} | {${ids.filter((id) => !step.side.includes(id)).join(', ')}}`,
    'one-way': `cut ${links}, one way`,
    delay: `delay ${step.links.map(([a, b], i) => `${a}→${b} by ${step.delays[i]} ms`).join(', ')}`,
    cut: `reset the connections ${links}`,
    answer: `kill -9 the first backup whose APPENDED reaches the proxy, before the primary reads it${step.pair ? ', then the primary once it shows the new commit index' : ''}`,
  }[step.kind];
  return `${what}, held ${step.hold} ms, the next step ${step.gap} ms later`;
}

interface Active {
  until: number;
  undo: () => Promise<void>;
}

export async function nemesis(h: Harness, options: NemesisOptions): Promise<Cluster> {
  const cluster = await newCluster(h, options.size, { compactAfter: options.compactAfter, dirPrefix: options.dirPrefix });
  const steps = schedule(h, cluster.ids, options);
  h.note(`the nemesis's schedule (from the test's seed, ${h.seed}):\n${steps.map((s, i) => `  ${i + 1}. ${describeStep(s, cluster.ids)}`).join('\n')}`);
  const primary = await cluster.waitForPrimary();
  const names = ['w1', 'w2', 'w3', 'w4'].slice(0, options.writers ?? 3);
  await makeAccounts(h, cluster, primary, [...names, 'inbox']);
  const windows = names.map(() => h.random.int(1, 5));
  const writers = names.map((name, i) => new Writer(h, cluster, name, { to: 'inbox', window: windows[i], paceMs: 5, resend: true }));
  for (const writer of writers) writer.start();
  await Promise.all(writers.map((w) => w.progress(3, 'before the faults')));

  const active: Active[] = [];
  const points = cluster.points;
  const later = (ms: number, undo: () => Promise<void>) => active.push({ until: Date.now() + ms, undo });
  const undoDue = async (all = false) => {
    for (const fault of [...active]) {
      if (!all && fault.until > Date.now()) continue;
      active.splice(active.indexOf(fault), 1);
      await fault.undo();
    }
  };
  for (const [i, step] of steps.entries()) {
    h.note(`nemesis step ${i + 1}: ${describeStep(step, cluster.ids)}`);
    const undo = await begin(cluster, step, points, later);
    if (undo) active.push({ until: Date.now() + step.hold, undo });
    await delay(step.gap);
    await undoDue();
  }
  await undoDue(true);
  cluster.heal();
  h.note('nemesis: every fault is undone; the cluster must elect, catch up, and take writes again');
  await Promise.all(writers.map((w) => w.progress(2, 'once every fault was healed', 60_000)));
  await Promise.all(writers.map((w) => w.stop()));
  await cluster.waitCaughtUp('every replica to hold the primary\'s whole log, committed, once every fault was healed', cluster.baseTimeoutMs + 40_000);
  await cluster.finish();
  return cluster;
}

/** Starts one step's fault; returns what undoes it (nothing for a fault that is over at once, or one that could not start). */
async function begin(cluster: Cluster, step: Step, points: Points, later: (ms: number, undo: () => Promise<void>) => void): Promise<(() => Promise<void>) | undefined> {
  switch (step.kind) {
    case 'pause':
    case 'kill': {
      const id = step.victim === 0 ? cluster.primaryNow() : step.victim;
      const member = id === undefined ? undefined : cluster.member(id);
      // A victim already down or paused, or no primary to be found: this step does nothing.
      if (!member || !member.up || member.paused) return undefined;
      if (step.kind === 'pause') {
        cluster.pause(member.id);
        return async () => {
          if (member.paused) cluster.resume(member.id);
        };
      }
      await cluster.kill(member.id);
      return async () => {
        if (!member.up) await cluster.restart(member.id);
      };
    }
    case 'partition': {
      const other = cluster.ids.filter((id) => !step.side.includes(id));
      cluster.partition(step.side, other);
      const cut = step.side.flatMap((x) => other.flatMap((y) => [[x, y], [y, x]] as [number, number][]));
      return async () => cluster.healLinks(cut);
    }
    case 'one-way':
      for (const [from, to] of step.links) cluster.block(from, to);
      return async () => cluster.healLinks(step.links);
    case 'delay':
      step.links.forEach(([from, to], i) => cluster.delay(from, to, step.delays[i]!));
      return async () => cluster.healLinks(step.links);
    case 'cut':
      for (const [from, to] of step.links) cluster.cut(from, to);
      return undefined;
    case 'answer': {
      const primary = cluster.primaryNow();
      if (primary === undefined || !cluster.member(primary).up || cluster.member(primary).paused) return undefined;
      const killed: Promise<void>[] = [];
      let backup: number | undefined;
      let committed: { cancel: () => void } | undefined;
      const answered = points.on(
        `the first APPENDED to replica ${primary}, before it reads it: kill -9 its sender`,
        (m) => m.to === primary && m.type === T7.APPENDED && cluster.member(m.from).up && !cluster.member(m.from).paused,
        (m) => {
          backup = m.from;
          killed.push(cluster.kill(m.from));
          if (!step.pair) return;
          const index = intAt(m.value, 'index') ?? 0n;
          committed = points.on(
            `replica ${primary}'s first APPEND with commit ${index} or more: kill -9 it`,
            (a) => a.from === primary && a.type === T7.APPEND && (intAt(a.value, 'commit') ?? 0n) >= index && cluster.member(primary).up,
            () => {
              killed.push(cluster.kill(primary));
              // Down longer than the backup: the others elect without it, from what they hold.
              later(step.hold + 3 * cluster.timeoutMs, async () => {
                if (!cluster.member(primary).up) await cluster.restart(primary);
              });
            },
          );
        },
      );
      return async () => {
        answered.cancel();
        committed?.cancel();
        await Promise.all(killed);
        const member = backup === undefined ? undefined : cluster.member(backup);
        if (member && !member.up) await cluster.restart(member.id);
      };
    }
  }
}
