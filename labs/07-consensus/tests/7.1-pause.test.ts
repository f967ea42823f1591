import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import { T } from './wire.js';
import { Writer, ackOf, loggedIn, makeAccounts, newCluster, trackedSend } from './consensus.js';

const test = phase(lab, '7.1');

test('a primary paused until another is elected wakes holding a SEND only it has: it must not acknowledge it, and nothing acknowledged is lost', { points: 8 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const old = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, old, ['alice', 'bob', 'carol', 'inbox']);
  const alice = await loggedIn(h, cluster, old, 'alice');
  for (const text of ['before the pause 1', 'before the pause 2']) await ackOf(cluster, alice, trackedSend(cluster, alice, old, 'alice', text), old, `the SENT for "${text}"`);
  await cluster.waitCaughtUp();
  // carol's SEND reaches the primary, which appends it; its messages to the others are cut (one
  // way), so no one else gets that record. Then it is paused, holding carol's reply.
  const others = cluster.ids.filter((id) => id !== old);
  const carol = await loggedIn(h, cluster, old, 'carol');
  const before = await cluster.until((r) => r.states.get(old)?.last, { timeoutMs: 5_000, what: `replica ${old}'s STATUS` });
  for (const id of others) cluster.block(old, id);
  const op = trackedSend(cluster, carol, old, 'carol', 'held by the sleeping primary');
  await cluster.until((r) => ((r.states.get(old)?.last ?? 0) > before ? true : undefined), { timeoutMs: 10_000, what: `replica ${old}, the primary, to append carol's SEND` });
  cluster.pause(old);
  cluster.healLinks(others.map((id) => [old, id] as [number, number]));
  const next = await cluster.waitForPrimary({ members: others, what: `a new primary among replicas ${others.join(' and ')} while replica ${old}, the primary, is paused (they hear no APPEND for T = ${cluster.timeoutMs} ms: spec section 6)` });
  const bob = await loggedIn(h, cluster, next, 'bob');
  const bobs: { id: bigint; text: string }[] = [];
  for (const text of ['after the pause 1', 'after the pause 2', 'after the pause 3']) bobs.push({ id: await ackOf(cluster, bob, trackedSend(cluster, bob, next, 'bob', text), next, `the SENT from replica ${next}, the new primary, for "${text}"`), text });
  const lastId = bobs[bobs.length - 1]!.id;
  // The new primary is cut off: the one backup left hears no primary and may follow whoever sends it APPENDs.
  const third = others.find((id) => id !== next)!;
  cluster.isolate(next);
  cluster.resume(old);
  h.note(`replica ${old} was replaced by replica ${next} while it slept, and wakes holding carol's SEND, which only it has; replica ${third} is the only replica it can reach`);
  const frame = await carol.readReply(`the old primary's answer to carol's SEND: none, or not-primary, or the connection closed (it must step down)`, { timeoutMs: cluster.baseTimeoutMs + 12_000 }).catch(() => undefined);
  if (frame?.type === BigInt(T.SENT)) {
    const id = carol.decode(frame, 'SENT');
    const given = id instanceof Map ? (id.get('id') as bigint) : 0n;
    cluster.history.acked(op, given, old);
    throw new GradeFailure(
      `replica ${old}, paused holding carol's SEND while replicas ${others.join(' and ')} elected replica ${next} and committed bob's messages up to id ${lastId}, woke up, and acknowledged carol's SEND with SENT {id: ${given}}` +
        (given <= lastId
          ? `: replica ${next}'s log holds record ${given} already${bobs.some((b) => b.id === given) ? `, bob's acknowledged ${JSON.stringify(bobs.find((b) => b.id === given)!.text)}` : ''}, and bob's acknowledged messages up to ${lastId}. Two records at one index, both called committed: acknowledged messages are lost.`
          : '.') +
        ` A replica that was replaced must acknowledge nothing: replica ${third} has seen the new primary's term, so it refuses the APPENDs of the older term, and the old primary steps down, on its own (it heard from no majority for T ms) or on seeing the newer term in replica ${third}'s HEARTBEATs; what it held was never committed (spec sections 3, 5 and 6). A replica without terms (lab 6's) cannot tell, and does exactly this.`,
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
