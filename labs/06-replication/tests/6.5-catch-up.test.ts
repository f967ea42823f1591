import lab from '../lab.js';
import { GradeFailure, phase, type Harness } from '../../../grader/harness/index.js';
import { T, Writer, loggedIn, makeAccounts, map, newCluster, peerOn, sendMessage, type Cluster } from './replicated.js';

const test = phase(lab, '6.5');

/**
 * With replica `back` returned (on its directory, or empty), waits until it holds the primary's
 * whole log, then kills the other backup: writes must go on, so `back` now counts.
 */
async function countsOnceCaughtUp(h: Harness, cluster: Cluster, writer: Writer, primary: number, back: number): Promise<void> {
  const other = cluster.ids.find((id) => id !== primary && id !== back)!;
  await cluster.until((round) => {
    const p = round.states.get(primary);
    const b = round.states.get(back);
    return p && b && b.last === p.last && b.primary === primary ? true : undefined;
  }, { timeoutMs: cluster.baseTimeoutMs + 20_000, what: `replica ${back} to catch up: to follow replica ${primary} and hold its whole log (spec section 9)` });
  await cluster.kill(other);
  await writer.progress(8, `with replica ${other} killed: replica ${back}, caught up, and the primary are a majority (spec section 9)`);
  await cluster.restart(other);
}

test('a backup restarted on its directory catches up, then counts towards a majority', { points: 6 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['w1', 'inbox']);
  const writer = new Writer(h, cluster, 'w1', { to: 'inbox', window: 2, paceMs: 5 });
  writer.start();
  await writer.progress(5, 'before any crash');
  const back = cluster.ids.find((id) => id !== primary)!;
  await cluster.kill(back);
  await writer.progress(30, `while replica ${back} is down`);
  await cluster.restart(back);
  await countsOnceCaughtUp(h, cluster, writer, primary, back);
  await writer.stop();
  await cluster.waitCaughtUp();
  await cluster.finish();
});

test('a replica started with an empty directory catches up, then counts towards a majority', { points: 5 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['w1', 'inbox']);
  const writer = new Writer(h, cluster, 'w1', { to: 'inbox', window: 2, paceMs: 5 });
  writer.start();
  await writer.progress(30, 'before any crash');
  const back = cluster.ids.find((id) => id !== primary)!;
  await cluster.kill(back);
  await cluster.restartEmpty(back);
  await countsOnceCaughtUp(h, cluster, writer, primary, back);
  await writer.stop();
  await cluster.waitCaughtUp();
  await cluster.finish();
});

test('a primary that crashed with records no one else has drops them when it returns', { points: 4 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const old = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, old, ['alice', 'bob']);
  const alice = await loggedIn(h, cluster, old, 'alice');
  await sendMessage(alice, 'bob', 'committed everywhere');
  const before = await cluster.waitCaughtUp();
  // As if it crashed the instant after appending, before sending: its links to the others lose
  // everything (for a few milliseconds: it is killed long before anyone could suspect it).
  for (const id of cluster.ids.filter((i) => i !== old)) cluster.proxy(old, id).blackhole();
  for (const text of ['never replicated 1', 'never replicated 2']) alice.send(T.SEND, map({ to: 'bob', text }));
  await cluster.until((round) => ((round.states.get(old)?.last ?? 0) >= before.last + 2 ? true : undefined), { timeoutMs: 10_000, what: `replica ${old}, the primary, to append the two SENDs` });
  await cluster.kill(old);
  for (const id of cluster.ids.filter((i) => i !== old)) cluster.proxy(old, id).heal();
  const primary = await cluster.waitForPrimary({ what: `a new primary after replica ${old} was killed` });
  const alice2 = await loggedIn(h, cluster, primary, 'alice');
  for (const text of ['after the failover 1', 'after the failover 2', 'after the failover 3']) await sendMessage(alice2, 'bob', text);
  await cluster.restart(old);
  const state = await cluster.waitCaughtUp(`replica ${old}, back, to hold the new primary's log: its own two records there were never committed (spec section 9)`);
  if (state.id === old) throw new GradeFailure(`replica ${old} came back and became the primary again; replica ${primary} was`);
  // Replica `old` serves again, and what it serves is the log it now holds: its state lost the two
  // messages with their records. It wins: its log is the other backup's, and its id the higher
  // (it won the first election as the highest id).
  await cluster.kill(primary);
  const next = await cluster.waitForPrimary({ what: `a new primary after replica ${primary}, the second primary, was killed` });
  const bob = await peerOn(h, cluster, next, 'bob');
  bob.send(T.LOGIN, map({ name: 'bob', password: 'pw-bob' }));
  await bob.expectReply(T.LOGGED_IN, map({ name: 'bob', waiting: 4n }), `LOGGED_IN {name: "bob", waiting: 4} from replica ${next}: "committed everywhere" and the three sent after the failover wait for bob; the two SENDs only replica ${old} ever appended were cut from its log with their effects (spec section 9)`);
  await cluster.restart(primary);
  await cluster.waitCaughtUp();
  await cluster.finish();
});
