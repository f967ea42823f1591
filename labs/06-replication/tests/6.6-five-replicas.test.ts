import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import { T, Writer, expectErrorReply, expectNotPrimary, loggedIn, makeAccounts, map, newCluster, peerOn, sendMessage } from './replicated.js';

const test = phase(lab, '6.6');

test('five replicas: the primary and a backup crash at once, and the other three go on', { points: 8 }, async (h) => {
  const cluster = await newCluster(h, 5);
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['w1', 'w2', 'inbox']);
  const writers = ['w1', 'w2'].map((name) => new Writer(h, cluster, name, { to: 'inbox', window: 2, paceMs: 10 }));
  for (const writer of writers) writer.start();
  await Promise.all(writers.map((w) => w.progress(5, 'before the crashes')));
  const backup = h.random.pick(cluster.ids.filter((id) => id !== primary));
  await cluster.kill(primary, backup);
  const next = await cluster.waitForPrimary({ what: `a new primary among the three replicas left, after replicas ${primary} and ${backup} were killed at once` });
  await Promise.all(writers.map((w) => w.progress(5, `with replicas ${primary} and ${backup} down: three of five are a majority`)));
  await cluster.restart(primary);
  await cluster.restart(backup);
  await Promise.all(writers.map((w) => w.stop()));
  const state = await cluster.waitCaughtUp();
  if (state.id !== next) h.note(`replica ${state.id} is the primary at the end`);
  await cluster.finish();
});

test('five replicas with three down elect no one and acknowledge nothing; one back, writes resume', { points: 7 }, async (h) => {
  const cluster = await newCluster(h, 5);
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['alice', 'bob']);
  const alice = await loggedIn(h, cluster, primary, 'alice');
  await sendMessage(alice, 'bob', 'before the crashes');
  await cluster.waitCaughtUp();
  const down = [primary, ...h.random.shuffle(cluster.ids.filter((id) => id !== primary)).slice(0, 2)];
  const left = cluster.ids.filter((id) => !down.includes(id));
  await cluster.kill(...down);
  // Two of five cannot elect: a token must visit a majority (spec section 7).
  const watch = cluster.timeoutMs + 1_500;
  h.note(`the grader watches replicas ${left.join(' and ')} for ${watch} ms: neither may become the primary`);
  const end = Date.now() + watch;
  while (Date.now() < end) {
    const round = await cluster.poller.nextRound();
    const elected = left.find((id) => round.states.get(id)?.role === 'primary');
    if (elected !== undefined) {
      throw new GradeFailure(`with replicas ${down.join(', ')} of five down, replica ${elected} became the primary with only ${left.length} replicas up. An election needs its token to visit a majority, 3 of 5: the records the others committed may be missing from the two left (spec section 7)`);
    }
  }
  const peer = await peerOn(h, cluster, left[0]!, `client of replica ${left[0]}`);
  const reply = await expectErrorReply(peer, T.CREATE_ACCOUNT, map({ name: 'carol', password: 'pw' }), `ERROR not-primary from replica ${left[0]}, which has no primary`);
  expectNotPrimary(peer, reply, undefined, undefined, `CREATE_ACCOUNT sent to replica ${left[0]} while no primary exists: a not-primary error without "primary" and "address"`);
  const back = down[1]!;
  await cluster.restart(back);
  const next = await cluster.waitForPrimary({ what: `a primary among replicas ${[...left, back].sort().join(', ')}, now three of five` });
  const alice2 = await loggedIn(h, cluster, next, 'alice');
  await sendMessage(alice2, 'bob', 'after the return');
  for (const id of down.filter((i) => i !== back)) await cluster.restart(id);
  await cluster.waitCaughtUp();
  await cluster.finish();
});
