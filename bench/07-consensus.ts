// Lab 7: how fast the reference solution heals, and what terms and votes cost, against lab 6.
//
// - Failover: three replicas, one client writing one SEND at a time with (client, seq). Twenty
//   faults, kill -9 and SIGSTOP in turn: from the fault to the next SENT, which the client gets
//   from the new primary after finding it, logging in again and sending its SEND again. A killed
//   replica is restarted, a paused one resumed, and the cluster caught up before the next round.
//   Median and p99 (the worst of 20), with the grader's flags (H = 100, T = 1000) and with small
//   ones (H = 20, T = 200).
// - Commit latency and throughput: N clients (1, then 64), each sending SEND after SEND, waiting
//   for each SENT, for a few seconds: the median time from SEND to SENT and the SENTs per second,
//   lab 7 against lab 6, measured side by side, as a ratio.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../grader/harness/build.js';
import { T, map } from '../labs/03-protocol/tests/wire.js';
import { Cluster, Link, killed, median, msText, p99, run, status, until } from './replicas.js';

export const title = 'lab 7: failover under kills and pauses, and commit latency against lab 6';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const build = path.join(root, '.switchboard', 'build');


async function failover(js: string, heartbeatMs: number, timeoutMs: number): Promise<string[]> {
  const cluster = await Cluster.start(js, 3, heartbeatMs, timeoutMs);
  try {
    let primary = await cluster.primary();
    const setup = await Link.open(cluster.ports[primary - 1]!);
    await setup.call(T.CREATE_ACCOUNT, map({ name: 'writer', password: 'pw' }), 10_000);
    await setup.call(T.CREATE_ACCOUNT, map({ name: 'inbox', password: 'pw' }), 10_000);
    setup.close();
    const times: { kind: string; ms: number }[] = [];
    let seq = 0n;
    let link = await Link.open(cluster.ports[primary - 1]!);
    await link.call(T.LOGIN, map({ name: 'writer', password: 'pw' }), 10_000);
    for (let round = 0; round < 20; round++) {
      const send = (l: Link) => l.call(T.SEND, map({ to: 'inbox', text: `#${seq}`, client: 42n, seq }), timeoutMs * 3);
      seq++;
      await send(link);
      const victim = primary;
      const kind = round % 2 === 0 ? 'kill' : 'pause';
      const at = performance.now();
      if (kind === 'kill') await killed(cluster.procs[victim - 1]!);
      else cluster.procs[victim - 1]!.child.kill('SIGSTOP');
      // Write until a SENT comes: find the primary, log in, send the same SEND again.
      seq++;
      link.close();
      for (;;) {
        const states = await Promise.all(cluster.ports.map((p, i) => (i + 1 === victim ? undefined : status(p))));
        const next = states.find((s) => s?.role === 'primary');
        if (next) {
          try {
            link = await Link.open(cluster.ports[next.id - 1]!);
            const login = await link.call(T.LOGIN, map({ name: 'writer', password: 'pw' }), timeoutMs * 3);
            const reply = login.type === T.LOGGED_IN ? await send(link) : undefined;
            if (reply?.type === T.SENT) {
              primary = next.id;
              break;
            }
            link.close();
          } catch {
            // Not ready yet: look again.
          }
        }
        await delay(5);
      }
      times.push({ kind, ms: performance.now() - at });
      const proc = cluster.procs[victim - 1]!;
      if (kind === 'kill') cluster.procs[victim - 1] = run(js, proc.args);
      else proc.child.kill('SIGCONT');
      await cluster.caughtUp();
    }
    link.close();
    const all = times.map((t) => t.ms);
    const of = (kind: string) => times.filter((t) => t.kind === kind).map((t) => t.ms);
    return [
      `failover (the primary killed or paused -> next SENT, heartbeat ${heartbeatMs} ms, timeout ${timeoutMs} ms, 20 faults): median ${msText(median(all))}, p99 ${msText(p99(all))}; ` +
        `kill -9 median ${msText(median(of('kill')))}, SIGSTOP median ${msText(median(of('pause')))}`,
      `  each: ${times.map((t) => `${t.kind} ${Math.round(t.ms)}`).join(', ')} ms`,
    ];
  } finally {
    await cluster.stop();
  }
}

/** The median SEND -> SENT time and the SENTs per second for `clients` clients writing as fast as their SENTs come, on `port`. */
async function latency(port: number, clients: number, seconds: number): Promise<{ median: number; perSecond: number }> {
  const setup = await Link.open(port);
  const names = Array.from({ length: clients }, (_, i) => `c${clients}-${i}`);
  // One hash at a time: a primary busy hashing 64 passwords at once would miss its heartbeats.
  for (const name of [...names, `inbox${clients}`]) await setup.call(T.CREATE_ACCOUNT, map({ name, password: 'pw' }), 10_000);
  const links: Link[] = [];
  for (const name of names) {
    const link = await Link.open(port);
    await link.call(T.LOGIN, map({ name, password: 'pw' }), 10_000);
    links.push(link);
  }
  setup.close();
  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  await Promise.all(links.map(async (link, i) => {
    for (let seq = 1n; performance.now() < end; seq++) {
      const at = performance.now();
      await link.call(T.SEND, map({ to: `inbox${clients}`, text: 'x', client: BigInt(i + 1), seq }), 10_000);
      samples.push(performance.now() - at);
    }
  }));
  for (const link of links) link.close();
  return { median: median(samples), perSecond: samples.length / seconds };
}

async function commitLatency(sevenJs: string, sixJs: string): Promise<string[]> {
  const lines: string[] = [];
  const seven = await Cluster.start(sevenJs, 3, 100, 2_000);
  const six = await Cluster.start(sixJs, 3, 100, 2_000);
  try {
    const [p7, p6] = [await seven.primary(), await six.primary()];
    for (const clients of [1, 64]) {
      const a = await latency(six.ports[p6 - 1]!, clients, 3);
      const b = await latency(seven.ports[p7 - 1]!, clients, 3);
      lines.push(
        `commit latency, ${clients} client${clients > 1 ? 's' : ''}: lab 7 median ${msText(b.median)} (${Math.round(b.perSecond)} SENT/s), ` +
          `lab 6 ${msText(a.median)} (${Math.round(a.perSecond)} SENT/s): latency ${(b.median / a.median).toFixed(2)}x, throughput ${(b.perSecond / a.perSecond).toFixed(2)}x`,
      );
    }
    return lines;
  } finally {
    await seven.stop();
    await six.stop();
  }
}

export default async function bench(): Promise<string[]> {
  const sevenJs = await buildProgram(path.join(root, 'solutions', '07-consensus', 'replica.ts'), build);
  const sixJs = await buildProgram(path.join(root, 'solutions', '06-replication', 'replica.ts'), build);
  return [...(await failover(sevenJs, 100, 1_000)), ...(await failover(sevenJs, 20, 200)), ...(await commitLatency(sevenJs, sixJs))];
}
