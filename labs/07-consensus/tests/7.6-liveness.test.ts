import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import { scaled, seconds } from '../../../grader/harness/wait.js';
import { Writer, makeAccounts, newCluster } from './consensus.js';

const test = phase(lab, '7.6');

test('after a primary paused, a split and a slow link heal together, writes are acknowledged again within the deadline', { points: 5 }, async (h) => {
  const cluster = await newCluster(h, 5);
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['w1', 'w2', 'inbox']);
  const writers = ['w1', 'w2'].map((name) => new Writer(h, cluster, name, { to: 'inbox', window: 2, paceMs: 5, resend: true }));
  for (const writer of writers) writer.start();
  await Promise.all(writers.map((w) => w.progress(3, 'before the faults')));
  // The primary paused; the others split two and two, so that no side is a majority; one link slow.
  const rest = h.random.shuffle(cluster.ids.filter((id) => id !== primary));
  cluster.pause(primary);
  cluster.partition(rest.slice(0, 2), rest.slice(2));
  cluster.delay(rest[0]!, rest[1]!, h.random.int(50, 200));
  const hold = cluster.timeoutMs * 3;
  h.note(`no majority can act for ${hold} ms: replica ${primary} is paused, replicas ${rest.slice(0, 2).join(' and ')} are cut off from ${rest.slice(2).join(' and ')}`);
  await new Promise((resolve) => setTimeout(resolve, hold));
  cluster.resume(primary);
  cluster.heal();
  const healed = Date.now();
  // A new election (T, then the ring and one round of votes), and each client finds the primary.
  const deadline = scaled(cluster.baseTimeoutMs * 4 + 8_000);
  await Promise.all(writers.map((w) => w.progress(1, 'after the faults healed', deadline).catch((error: Error) => {
    throw new GradeFailure(`every fault healed ${seconds(Date.now() - healed)} ago, and ${w.name} has had no SENT since: with every replica up and every link whole, a primary must be elected and take writes within ${seconds(deadline)} (T is ${cluster.timeoutMs} ms). ${error.message}`);
  })));
  h.note(`writes resumed ${Date.now() - healed} ms after the heal`);
  await Promise.all(writers.map((w) => w.stop()));
  await cluster.waitCaughtUp();
  await cluster.finish();
});

test('a backup cut off and let back again and again does not disturb the primary: no new terms, writes go on', { points: 5 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['w1', 'inbox']);
  const writer = new Writer(h, cluster, 'w1', { to: 'inbox', window: 2, paceMs: 5, resend: true });
  writer.start();
  await writer.progress(3, 'before the partitions');
  const term = cluster.statusNow(primary)!.term ?? 0;
  const wanderer = h.random.pick(cluster.ids.filter((id) => id !== primary));
  const cycles = 5;
  for (let cycle = 1; cycle <= cycles; cycle++) {
    cluster.isolate(wanderer);
    // Long enough for it to give up on the primary (T) and try to be elected, twice over.
    await new Promise((resolve) => setTimeout(resolve, cluster.timeoutMs * 2 + h.random.int(0, cluster.timeoutMs)));
    await writer.progress(2, `cycle ${cycle}: with replica ${wanderer} cut off`);
    cluster.heal();
    await cluster.until((r) => (r.states.get(wanderer)?.role === 'backup' && r.states.get(wanderer)?.primary !== 0 ? true : undefined), {
      timeoutMs: cluster.baseTimeoutMs + 10_000,
      what: `cycle ${cycle}: replica ${wanderer}, back on the network, to follow the primary`,
    });
    await writer.progress(2, `cycle ${cycle}: after replica ${wanderer} came back`);
  }
  await writer.stop();
  const now = cluster.statusNow(cluster.primaryNow() ?? primary)!.term ?? 0;
  // Two new terms are allowed, for elections a loaded machine may cause by itself; one or more per return is the bug.
  if (now > term + 2) {
    throw new GradeFailure(
      `replica ${wanderer} was cut off and let back ${cycles} times, and the primary's term went from ${term} to ${now}: each return disturbed the majority. ` +
        'A replica cut off must not raise its term on its own: its token cannot come back from a majority, so it asks for no votes (the pre-vote of spec section 9), and it takes the primary\'s term when it hears it again.',
    );
  }
  await cluster.waitCaughtUp();
  await cluster.finish();
});
