import lab from './lab.js';
import path from 'node:path';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import { connectTrace, expectRetries, straceInstalled } from '../../../grader/harness/attempts.js';
import { T, Writer, expectPeersByHost, loggedIn, makeAccounts, map, newCluster, sendMessage } from '../tests/replicated.js';
import { expectClientDialsHost } from '../../../grader/harness/hosts.js';

const test = phase(lab, '6.7');

test('four replicas: with two down a SEND gets no SENT (a majority is three), and with one back it does', { points: 7 }, async (h) => {
  const cluster = await newCluster(h, 4, { first: 4 });
  const primary = await cluster.waitForPrimary();
  if (primary !== 4) throw new GradeFailure(`four replicas with empty logs elected replica ${primary}; with equal logs the highest id, 4, wins (spec section 7)`);
  await makeAccounts(h, cluster, primary, ['alice', 'bob']);
  const alice = await loggedIn(h, cluster, primary, 'alice');
  await sendMessage(alice, 'bob', 'four copies');
  await cluster.waitCaughtUp();
  const down = h.random.shuffle(cluster.ids.filter((id) => id !== primary)).slice(0, 2);
  await cluster.kill(...down);
  alice.send(T.SEND, map({ to: 'bob', text: 'two copies of four' }));
  await alice.conn.expectSilence(1_500, { what: 'no reply to the SEND: two of four is not a majority (⌊4/2⌋ + 1 = 3: spec section 1)' }).catch((error: Error) => {
    throw new GradeFailure(`with two of four replicas down, the primary acknowledged a SEND that only two replicas hold: a majority of four is three (spec section 1). ${error.message}`);
  });
  await cluster.restart(down[0]!);
  const frame = await alice.readReply('the SENT, now that three of four are up', { timeoutMs: cluster.baseTimeoutMs + 15_000 });
  if (frame.type !== BigInt(T.SENT)) throw new GradeFailure(`alice expected SENT and got ${alice.describe(frame)}`);
  await cluster.restart(down[1]!);
  await cluster.waitCaughtUp();
  await cluster.finish();
});

test('five replicas lose their backups one after another, then the primary', { points: 7 }, async (h) => {
  const cluster = await newCluster(h, 5);
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['w1', 'w2', 'inbox']);
  const writers = ['w1', 'w2'].map((name) => new Writer(h, cluster, name, { to: 'inbox', window: 2, paceMs: 10 }));
  for (const writer of writers) writer.start();
  const [b1, b2] = h.random.shuffle(cluster.ids.filter((id) => id !== primary));
  await cluster.kill(b1!);
  await Promise.all(writers.map((w) => w.progress(4, `with replica ${b1} down`)));
  await cluster.kill(b2!);
  await Promise.all(writers.map((w) => w.progress(4, `with replicas ${b1} and ${b2} down: three of five are up`)));
  await cluster.restart(b1!);
  await cluster.kill(primary);
  const next = await cluster.waitForPrimary({ what: `a new primary after replica ${primary} was killed, with replica ${b2} still down` });
  await Promise.all(writers.map((w) => w.progress(4, `on replica ${next}`)));
  await cluster.restart(b2!);
  await cluster.restart(primary);
  await Promise.all(writers.map((w) => w.stop()));
  await cluster.waitCaughtUp();
  await cluster.finish();
});

test('a replica killed and restarted again and again while clients write', { points: 6 }, async (h) => {
  const cluster = await newCluster(h, 3);
  let primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['w1', 'w2', 'inbox']);
  const writers = ['w1', 'w2'].map((name) => new Writer(h, cluster, name, { to: 'inbox', window: h.random.int(1, 4), paceMs: 10 }));
  for (const writer of writers) writer.start();
  const victim = h.random.pick(cluster.ids.filter((id) => id !== primary));
  for (let round = 1; round <= 5; round++) {
    await cluster.kill(victim);
    await Promise.all(writers.map((w) => w.progress(3, `with replica ${victim} down (round ${round})`)));
    if (h.random.chance(0.5)) await cluster.restartEmpty(victim);
    else await cluster.restart(victim);
    await cluster.until((r) => (r.states.get(victim)?.last === r.states.get(primary)?.last ? true : undefined), { timeoutMs: cluster.baseTimeoutMs + 20_000, what: `replica ${victim} to catch up again` });
  }
  const old = primary;
  await cluster.kill(old);
  primary = await cluster.waitForPrimary({ what: `a new primary after replica ${old} was killed` });
  await Promise.all(writers.map((w) => w.progress(3, `on replica ${primary}`)));
  await cluster.restart(old);
  await Promise.all(writers.map((w) => w.stop()));
  await cluster.waitCaughtUp();
  await cluster.finish();
});

// Spec section 8, rule 3: with every replica away the client goes round its list, an attempt at
// least every 500 ms. strace counts its connect() calls (grader/harness/attempts.ts); where there is no
// strace (not Linux, or not installed), this is noted and not judged.
test("with every replica away the lab's client tries to connect at least every 500 ms", { points: 2 }, async (h) => {
  const file = path.join(h.logDir, 'strace-client.txt');
  if (!(await straceInstalled())) return h.note('not judged here: counting refused attempts to connect needs strace, on Linux');
  const fakes = [await h.fakeServer(), await h.fakeServer(), await h.fakeServer()];
  const client = await h.start('client', { params: { replicas: fakes.map((f, i) => `${i + 1}=127.0.0.1:${f.port}`).join(',') }, prefix: connectTrace(file) });
  await fakes[0]!.accept({ from: client, what: 'the client to connect to the first replica of its list', timeoutMs: 20_000 });
  await expectRetries(h, client, file, fakes, 'every replica', 'spec section 8, rule 3');
});

test('replicas reach each other at the hosts --peers names, here another loopback address', { points: 2 }, async (h) => {
  await expectPeersByHost(h, newCluster);
});

// The client dials the host it is given (spec section 8), not 127.0.0.1 whatever it is told (grader/harness/hosts.ts).
test('the client connects to the host it is given, here another loopback address', { points: 1 }, async (h) => {
  await expectClientDialsHost(h, (fake) => ({ replicas: `1=${fake.host}:${fake.port}` }), '--replicas list');
});
