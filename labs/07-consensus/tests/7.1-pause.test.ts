import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import { T } from './wire.js';
import { Writer, ackOf, loggedIn, makeAccounts, newCluster, trackedSend } from './consensus.js';

const test = phase(lab, '7.1');

test('a primary paused until another is elected wakes with a SEND to handle: it must not acknowledge it, and nothing acknowledged is lost', { points: 8 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const old = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, old, ['alice', 'bob', 'carol', 'inbox']);
  const alice = await loggedIn(h, cluster, old, 'alice');
  for (const text of ['before the pause 1', 'before the pause 2']) await ackOf(cluster, alice, trackedSend(cluster, alice, old, 'alice', text), old, `the SENT for "${text}"`);
  await cluster.waitCaughtUp();
  // carol stays connected to the primary, logged in: her SEND will wait in its socket while it sleeps.
  const carol = await loggedIn(h, cluster, old, 'carol');
  cluster.pause(old);
  const others = cluster.ids.filter((id) => id !== old);
  const next = await cluster.waitForPrimary({ members: others, what: `a new primary among replicas ${others.join(' and ')} while replica ${old}, the primary, is paused (they hear no APPEND for T = ${cluster.timeoutMs} ms: spec section 6)` });
  const bob = await loggedIn(h, cluster, next, 'bob');
  let lastId = 0n;
  for (const text of ['after the pause 1', 'after the pause 2', 'after the pause 3']) lastId = await ackOf(cluster, bob, trackedSend(cluster, bob, next, 'bob', text), next, `the SENT from replica ${next}, the new primary, for "${text}"`);
  // The new primary is cut off: the one backup left hears no primary and may follow whoever sends it APPENDs.
  const third = others.find((id) => id !== next)!;
  cluster.isolate(next);
  const op = trackedSend(cluster, carol, old, 'carol', 'sent to the sleeping primary');
  cluster.resume(old);
  h.note(`replica ${old} was replaced by replica ${next} while it slept, and wakes with carol's SEND to handle; replica ${third} is the only replica it can reach`);
  const frame = await carol.readReply(`the old primary's answer to carol's SEND: none, or not-primary, or the connection closed (it must step down)`, { timeoutMs: cluster.baseTimeoutMs + 12_000 }).catch(() => undefined);
  if (frame?.type === BigInt(T.SENT)) {
    const id = carol.decode(frame, 'SENT');
    const given = id instanceof Map ? (id.get('id') as bigint) : 0n;
    cluster.history.acked(op, given, old);
    throw new GradeFailure(
      `replica ${old}, paused while replicas ${others.join(' and ')} elected replica ${next} and committed bob's messages up to id ${lastId}, woke up, and acknowledged carol's SEND with SENT {id: ${given}}` +
        (given <= lastId ? `: id ${given} was already bob's acknowledged "after the pause ${Number(given - lastId) + 3}" on replica ${next}. Two acknowledged messages at one index: one of them is lost.` : '.') +
        ` A replica that was replaced must acknowledge nothing: replica ${third} has seen the new primary's term, so it refuses the APPENDs of the older term, and the old primary, seeing the newer term in replica ${third}'s HEARTBEATs, steps down (spec sections 3 and 5). A replica without terms (lab 6's) cannot tell, and does exactly this.`,
    );
  }
  if (frame) {
    const value = carol.decode(frame, 'an answer');
    if (frame.type !== BigInt(T.ERROR) || !(value instanceof Map) || value.get('code') !== 'not-primary') throw new GradeFailure(`carol sent SEND to replica ${old}, which is no longer the primary, and got ${carol.describe(frame)}: it expected nothing, not-primary, or the connection closed`);
  }
  cluster.history.abandoned(op, old);
  await cluster.until((round) => (round.states.get(old)?.role !== 'primary' && round.states.get(old) ? true : undefined), {
    timeoutMs: 10_000,
    what: `replica ${old}, awake again, to step down: replica ${third}'s HEARTBEATs carry term ${cluster.statusNow(third)?.term ?? 'newer'}, newer than its own (spec section 3)`,
  });
  cluster.heal();
  await cluster.waitForPrimary({ what: 'one primary that every replica follows, once the network is whole again' });
  const dave = await loggedIn(h, cluster, cluster.primaryNow()!, 'alice');
  await ackOf(cluster, dave, trackedSend(cluster, dave, cluster.primaryNow()!, 'alice-2', 'after the heal'), cluster.primaryNow()!, 'the SENT for a message after the heal');
  await cluster.waitCaughtUp();
  await cluster.finish();
});

test('a paused primary, resumed while clients write, steps down; writes go on and nothing acknowledged is lost', { points: 7 }, async (h) => {
  const cluster = await newCluster(h, 3);
  let primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['w1', 'w2', 'w3', 'inbox']);
  const writers = ['w1', 'w2', 'w3'].map((name) => new Writer(h, cluster, name, { to: 'inbox', window: h.random.int(1, 5), paceMs: 5, resend: true }));
  for (const writer of writers) writer.start();
  await Promise.all(writers.map((w) => w.progress(5, 'before the pause')));
  for (let round = 1; round <= 2; round++) {
    const old = primary;
    const term = cluster.statusNow(old)?.term;
    cluster.pause(old);
    const others = cluster.ids.filter((id) => id !== old);
    primary = await cluster.waitForPrimary({ members: others, what: `round ${round}: a new primary among replicas ${others.join(' and ')} while replica ${old} is paused` });
    const wait = h.random.int(100, 1_000);
    h.note(`round ${round}: replica ${old} stays paused ${wait} ms more (seeded), then wakes up`);
    await new Promise((resolve) => setTimeout(resolve, wait));
    cluster.resume(old);
    await cluster.until((r) => {
      const s = r.states.get(old);
      return s && (s.role !== 'primary' || (s.term ?? 0) > (term ?? 0)) ? true : undefined;
    }, { timeoutMs: 10_000, what: `round ${round}: replica ${old}, the primary${term === undefined ? '' : ` of term ${term}`} when it was paused, awake again, to step down: replica ${primary} is the primary of a newer term, and every message of the others carries it (spec section 3)` });
    await Promise.all(writers.map((w) => w.progress(3, `round ${round}: after replica ${old} woke up and replica ${primary} took over`)));
  }
  await Promise.all(writers.map((w) => w.stop()));
  await cluster.waitCaughtUp();
  await cluster.finish();
});
