import { setTimeout as delay } from 'node:timers/promises';
import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import { explore, exploreTimeout } from '../../../grader/explore/explorer.js';
import { readAll } from '../../05-persistence/tests/durable.js';
import { Writer, loggedIn, loggedInAnyCount, makeAccounts, newCluster, sendMessage } from './replicated.js';

const test = phase(lab, '6.3');

// One schedule of kill points per test; --explore N runs N, one after another, each on a fresh cluster.
const prefix = (n: number) => (n > 1 ? `s${n}-` : undefined);

test('kill -9 the primary while three clients write, twice: a new primary takes over and nothing acknowledged is lost', { points: 12, timeoutMs: exploreTimeout(1, 60_000, 90_000) }, async (h) => {
  await explore(h, 1, async (s) => {
    const cluster = await newCluster(h, 3, { dirPrefix: prefix(s.number) });
    let primary = await cluster.waitForPrimary();
    await makeAccounts(h, cluster, primary, ['w1', 'w2', 'w3', 'inbox']);
    const writers = ['w1', 'w2', 'w3'].map((name) => new Writer(h, cluster, name, { to: 'inbox', window: h.random.int(1, 4), paceMs: 10 }));
    for (const writer of writers) writer.start();
    for (let round = 1; round <= 2; round++) {
      await Promise.all(writers.map((w) => w.progress(3, `before kill ${round}`)));
      const wait = h.random.int(50, 500);
      h.note(`round ${round}: the grader kills the primary, replica ${primary}, ${wait} ms from now (seeded)`);
      await delay(wait);
      const old = primary;
      await cluster.kill(old);
      primary = await cluster.waitForPrimary({ what: `a new primary after replica ${old}, the primary, was killed (the backups suspect it after T = ${cluster.timeoutMs} ms of silence: spec sections 6 and 7)` });
      await Promise.all(writers.map((w) => w.progress(3, `after replica ${old} was killed and replica ${primary} took over`)));
      await cluster.restart(old);
    }
    await Promise.all(writers.map((w) => w.stop()));
    await cluster.waitCaughtUp();
    await cluster.finish();
  });
});

test('kill -9 the primary the moment a SENT arrives: the new primary has that message', { points: 8, timeoutMs: exploreTimeout(1, 60_000, 90_000) }, async (h) => {
  await explore(h, 1, async (s) => {
    const cluster = await newCluster(h, 3, { dirPrefix: prefix(s.number) });
    let primary = await cluster.waitForPrimary();
    await makeAccounts(h, cluster, primary, ['alice', 'bob']);
    const acked: { id: bigint; text: string }[] = [];
    for (let round = 1; round <= 2; round++) {
      const alice = await loggedIn(h, cluster, primary, 'alice');
      const count = h.random.int(1, 5);
      for (let i = 1; i <= count; i++) {
        const text = i === count ? `round ${round}: killed right after its SENT` : `round ${round} message ${i}`;
        acked.push({ id: await sendMessage(alice, 'bob', text), text });
      }
      const old = primary;
      await cluster.kill(old);
      primary = await cluster.waitForPrimary({ what: `a new primary after replica ${old} was killed` });
      const bob = await loggedInAnyCount(h, cluster, primary, 'bob').catch((error: Error) => {
        throw new GradeFailure(`after replica ${old} was killed, bob could not log in on replica ${primary}, the new primary: ${error.message}`);
      });
      const got = await readAll(bob);
      const missing = acked.filter((m) => !got.some((g) => g.id === m.id && g.text === m.text));
      if (missing.length > 0) {
        throw new GradeFailure(
          `round ${round}: replica ${old} acknowledged ${missing.map((m) => `${JSON.stringify(m.text)} (id ${m.id})`).join(', ')} and was killed; replica ${primary}, the new primary, does not have ${missing.length > 1 ? 'them' : 'it'}. ` +
            `bob reads ${got.length} message(s) there. A SENT leaves only once a majority stored the record (spec section 5.1), and the election picks a replica that has it (section 7).`,
        );
      }
      bob.conn.end();
      acked.length = 0;
      await cluster.restart(old);
      await cluster.waitCaughtUp();
    }
    await cluster.finish();
  });
});
