import lab from '../lab.js';
import { GradeFailure, phase, type Harness } from '../../../grader/harness/index.js';
import { T } from './wire.js';
import { Writer, expectGone, loggedIn, makeAccounts, newCluster, trackedSend, type Cluster, type Peer } from './consensus.js';

const test = phase(lab, '7.2');

/**
 * `peer`'s SENDs, made to a replica cut off from a majority, must get no SENT: only silence,
 * not-primary, or the connection closed, for as long as `ms`.
 */
async function expectNoSent(cluster: Cluster, peer: Peer, replica: number, ms: number, why: string): Promise<void> {
  const frame = await peer.readReply(`no SENT from replica ${replica}`, { timeoutMs: ms }).catch(() => undefined);
  if (!frame) return;
  if (frame.type === BigInt(T.SENT)) throw new GradeFailure(`replica ${replica} answered ${peer.describe(frame)} to ${peer.name}'s SEND. ${why}`);
  const value = peer.decode(frame, 'an answer');
  if (frame.type !== BigInt(T.ERROR) || !(value instanceof Map) || value.get('code') !== 'not-primary') throw new GradeFailure(`${peer.name} sent SEND to replica ${replica} and got ${peer.describe(frame)}; it expected no SENT: nothing, not-primary, or the connection closed`);
}

async function writersOn(h: Harness, cluster: Cluster, primary: number, names: string[]): Promise<Writer[]> {
  await makeAccounts(h, cluster, primary, [...names, 'inbox', 'alice', 'bob']);
  const writers = names.map((name) => new Writer(h, cluster, name, { to: 'inbox', window: h.random.int(1, 4), paceMs: 5, resend: true }));
  for (const writer of writers) writer.start();
  await Promise.all(writers.map((w) => w.progress(5, 'before the partition')));
  return writers;
}

test('a primary cut off from both backups acknowledges nothing; the two elect and go on; after the heal its records are gone and every log agrees', { points: 8 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const old = await cluster.waitForPrimary();
  const writers = await writersOn(h, cluster, old, ['w1', 'w2']);
  const alice = await loggedIn(h, cluster, old, 'alice');
  cluster.isolate(old);
  // alice still reaches the old primary (clients are not partitioned): it appends her SENDs and must not acknowledge them.
  const texts = ['cut off 1', 'cut off 2'];
  const ops = texts.map((text) => trackedSend(cluster, alice, old, 'alice', text));
  const others = cluster.ids.filter((id) => id !== old);
  const next = await cluster.waitForPrimary({ members: others, what: `a primary among replicas ${others.join(' and ')}, a majority, with replica ${old} cut off` });
  await Promise.all(writers.map((w) => w.progress(5, `on replica ${next}, with replica ${old} cut off`)));
  await expectNoSent(cluster, alice, old, 1_000, `Replica ${old} is cut off from both other replicas: no majority can hold the record, so no SENT may leave it (spec section 5). It steps down once it has heard from no majority for T ms (section 6).`);
  for (const op of ops) cluster.history.abandoned(op, old);
  await cluster.until((r) => (r.states.get(old) && r.states.get(old)!.role !== 'primary' ? true : undefined), {
    timeoutMs: cluster.baseTimeoutMs + 10_000,
    what: `replica ${old}, cut off from every other replica, to step down: a primary that has heard from no majority for T = ${cluster.timeoutMs} ms is no longer the primary (spec section 6)`,
  });
  cluster.heal();
  await Promise.all(writers.map((w) => w.progress(3, 'after the heal')));
  await Promise.all(writers.map((w) => w.stop()));
  await cluster.waitCaughtUp();
  await cluster.finish();
  expectGone(cluster, texts);
});

test('five replicas split two and three: the two, with the old primary, elect no one and acknowledge nothing; the three go on', { points: 6 }, async (h) => {
  const cluster = await newCluster(h, 5);
  const old = await cluster.waitForPrimary();
  const writers = await writersOn(h, cluster, old, ['w1', 'w2']);
  const minority = [old, h.random.pick(cluster.ids.filter((id) => id !== old))];
  const majority = cluster.ids.filter((id) => !minority.includes(id));
  const alice = await loggedIn(h, cluster, old, 'alice');
  cluster.partition(minority, majority);
  const op = trackedSend(cluster, alice, old, 'alice', 'sent to the minority');
  const next = await cluster.waitForPrimary({ members: majority, what: `a primary among replicas ${majority.join(', ')}, three of five` });
  const term = cluster.statusNow(next)!.term ?? 0;
  await Promise.all(writers.map((w) => w.progress(5, `on replica ${next}, with replicas ${minority.join(' and ')} cut off`)));
  await expectNoSent(cluster, alice, old, 500, `Replicas ${minority.join(' and ')} are two of five: not a majority (spec section 5).`);
  cluster.history.abandoned(op, old);
  const watch = cluster.timeoutMs * 2;
  h.note(`the grader watches replicas ${minority.join(' and ')} for ${watch} ms: neither may be the primary of a term as new as ${term}`);
  const end = Date.now() + watch;
  while (Date.now() < end) {
    const round = await cluster.poller.nextRound();
    for (const id of minority) {
      const s = round.states.get(id);
      if (s?.role === 'primary' && (s.term ?? 0) >= term) throw new GradeFailure(`replica ${id}, on the side of two replicas of five, answered STATUS as the primary of term ${s.term}: two votes of five are no majority (spec section 6)`);
    }
  }
  cluster.heal();
  await Promise.all(writers.map((w) => w.progress(3, 'after the heal')));
  await Promise.all(writers.map((w) => w.stop()));
  await cluster.waitCaughtUp();
  await cluster.finish();
  expectGone(cluster, ['sent to the minority']);
});

test('one way: a primary whose messages no longer reach the others is replaced, and steps down when it hears the new term', { points: 3 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const old = await cluster.waitForPrimary();
  const writers = await writersOn(h, cluster, old, ['w1']);
  const others = cluster.ids.filter((id) => id !== old);
  for (const id of others) cluster.block(old, id);
  const next = await cluster.waitForPrimary({ members: others, what: `a primary among replicas ${others.join(' and ')}, which no longer hear replica ${old} (they still reach it)` });
  await cluster.until((r) => (r.states.get(old)?.role === 'backup' ? true : undefined), {
    timeoutMs: cluster.baseTimeoutMs + 10_000,
    what: `replica ${old}, which still hears the others, to step down: their HEARTBEATs carry replica ${next}'s newer term (spec section 3)`,
  });
  await writers[0]!.progress(5, `on replica ${next}`);
  cluster.heal();
  await writers[0]!.stop();
  await cluster.waitCaughtUp();
  await cluster.finish();
});

test('one way: a primary that no longer hears the others steps down, so that they can elect one that does', { points: 3 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const old = await cluster.waitForPrimary();
  const writers = await writersOn(h, cluster, old, ['w1']);
  const others = cluster.ids.filter((id) => id !== old);
  // The backups still get the old primary's APPENDs, so they do not suspect it; it hears none of their answers.
  for (const id of others) cluster.block(id, old);
  await cluster.until((r) => (r.states.get(old) && r.states.get(old)!.role !== 'primary' ? true : undefined), {
    timeoutMs: cluster.baseTimeoutMs + 10_000,
    what: `replica ${old}, which hears no other replica, to step down: a primary that has heard from no majority for T = ${cluster.timeoutMs} ms steps down, or the backups, which still get its APPENDs, would never elect another (spec section 6)`,
  });
  const next = await cluster.waitForPrimary({ members: others, what: `a primary among replicas ${others.join(' and ')} once replica ${old} stopped sending APPENDs` });
  await writers[0]!.progress(5, `on replica ${next}`);
  cluster.heal();
  await writers[0]!.stop();
  await cluster.waitCaughtUp();
  await cluster.finish();
});
