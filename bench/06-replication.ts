// Lab 6: what replication costs and how fast it heals, on the reference solution.
//
// - Failover: three replicas with small timeouts (heartbeats every 20 ms, a primary suspected
//   after 200 ms of silence), one client writing one SEND at a time with (client, seq). Twenty
//   times: kill -9 the primary, and time from the kill to the next SENT, which the client gets
//   from the new primary after finding it, logging in again and sending its SEND again. The killed
//   replica is restarted and caught up before the next round. Median and p99 (the worst of 20).
// - Commit latency: N clients (1, then 64), each sending SEND after SEND, waiting for each SENT,
//   for a few seconds: the median time from SEND to SENT, against lab 5's single durable server
//   measured in the same run, as a ratio. The replicas' extra cost is one more round trip and one
//   more disk sync (a backup's) before a SENT.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../grader/harness/build.js';
import { claimPort } from '../grader/harness/ports.js';
import { T, map } from '../labs/03-protocol/tests/wire.js';
import { Cluster, Link, killed, median, msText, p99, run, status, until } from './replicas.js';

export const title = 'lab 6: failover time, and commit latency against lab 5';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const build = path.join(root, '.switchboard', 'build');


async function failover(js: string): Promise<string[]> {
  const cluster = await Cluster.start(js, 3, 20, 200);
  try {
    let primary = await cluster.primary();
    const setup = await Link.open(cluster.ports[primary - 1]!);
    await setup.call(T.CREATE_ACCOUNT, map({ name: 'writer', password: 'pw' }));
    await setup.call(T.CREATE_ACCOUNT, map({ name: 'inbox', password: 'pw' }));
    setup.close();
    const times: number[] = [];
    let seq = 0n;
    let link = await Link.open(cluster.ports[primary - 1]!);
    await link.call(T.LOGIN, map({ name: 'writer', password: 'pw' }));
    for (let round = 0; round < 20; round++) {
      const send = (l: Link) => l.call(T.SEND, map({ to: 'inbox', text: `#${seq}`, client: 42n, seq }));
      seq++;
      await send(link);
      const dead = primary;
      const killedAt = performance.now();
      await killed(cluster.procs[dead - 1]!);
      // Write until a SENT comes: find the primary, log in, send the same SEND again.
      seq++;
      for (;;) {
        const states = await Promise.all(cluster.ports.map((p, i) => (i + 1 === dead ? undefined : status(p))));
        const next = states.find((s) => s?.role === 'primary');
        if (next) {
          try {
            link.close();
            link = await Link.open(cluster.ports[next.id - 1]!);
            const login = await link.call(T.LOGIN, map({ name: 'writer', password: 'pw' }));
            const reply = login.type === T.LOGGED_IN ? await send(link) : undefined;
            if (reply?.type === T.SENT) {
              primary = next.id;
              break;
            }
          } catch {
            // Not ready yet: look again.
          }
        }
        await delay(5);
      }
      times.push(performance.now() - killedAt);
      const proc = cluster.procs[dead - 1]!;
      cluster.procs[dead - 1] = run(js, proc.args);
      await cluster.caughtUp();
    }
    link.close();
    return [
      `failover (kill -9 the primary -> next SENT, heartbeat 20 ms, timeout 200 ms, 20 kills): median ${msText(median(times))}, p99 ${msText(p99(times))} (goal: under 1 s)`,
      `  each: ${times.map((t) => Math.round(t)).join(' ')} ms`,
    ];
  } finally {
    await cluster.stop();
  }
}

/** The median SEND -> SENT time for `clients` clients writing as fast as their SENTs come, on `port`. */
async function latency(port: number, clients: number, seconds: number): Promise<{ median: number; perSecond: number }> {
  const setup = await Link.open(port);
  const names = Array.from({ length: clients }, (_, i) => `c${clients}-${i}`);
  // One hash at a time: a primary busy hashing 64 passwords at once would miss its heartbeats.
  for (const name of [...names, `inbox${clients}`]) await setup.call(T.CREATE_ACCOUNT, map({ name, password: 'pw' }));
  const links: Link[] = [];
  for (const name of names) {
    const link = await Link.open(port);
    await link.call(T.LOGIN, map({ name, password: 'pw' }));
    links.push(link);
  }
  setup.close();
  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  await Promise.all(links.map(async (link, i) => {
    for (let seq = 1n; performance.now() < end; seq++) {
      const at = performance.now();
      await link.call(T.SEND, map({ to: `inbox${clients}`, text: 'x', client: BigInt(i + 1), seq }));
      samples.push(performance.now() - at);
    }
  }));
  for (const link of links) link.close();
  return { median: median(samples), perSecond: samples.length / seconds };
}

async function commitLatency(replicaJs: string, serverJs: string): Promise<string[]> {
  const lines: string[] = [];
  const cluster = await Cluster.start(replicaJs, 3, 100, 2_000);
  const claim = await claimPort('a bench lab 5 server');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-5-'));
  const server = run(serverJs, ['--port', String(claim.port), '--data', dir]);
  try {
    const primary = await cluster.primary();
    await until('the lab 5 server', async () => ((await status(claim.port)) !== undefined || (await Link.open(claim.port).then((l) => (l.close(), true), () => undefined))));
    for (const clients of [1, 64]) {
      const five = await latency(claim.port, clients, 3);
      const six = await latency(cluster.ports[primary - 1]!, clients, 3);
      lines.push(
        `commit latency, ${clients} client${clients > 1 ? 's' : ''}: lab 6 (3 replicas) median ${msText(six.median)} (${Math.round(six.perSecond)} SENT/s), ` +
          `lab 5 (one server) ${msText(five.median)} (${Math.round(five.perSecond)} SENT/s): ${(six.median / five.median).toFixed(2)}x`,
      );
    }
    return lines;
  } finally {
    await cluster.stop();
    await killed(server);
    claim.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function bench(): Promise<string[]> {
  const replicaJs = await buildProgram(path.join(root, 'solutions', '06-replication', 'replica.ts'), build);
  const serverJs = await buildProgram(path.join(root, 'solutions', '05-persistence', 'server.ts'), build);
  return [...(await failover(replicaJs)), ...(await commitLatency(replicaJs, serverJs))];
}
