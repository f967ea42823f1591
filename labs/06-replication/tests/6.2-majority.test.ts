import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import { Writer, expectHeldPushesWait, loggedIn, loggedInAnyCount, makeAccounts, map, newCluster, sendMessage, show, T } from './replicated.js';
import { describeMessages, readAll, resetRightAfter, takePushes } from '../../05-persistence/tests/durable.js';

const test = phase(lab, '6.2');

test('a SEND is acknowledged, and every replica stores and commits it', { points: 3 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['alice', 'bob']);
  const alice = await loggedIn(h, cluster, primary, 'alice');
  const id = await sendMessage(alice, 'bob', 'stored three times');
  const state = await cluster.waitCaughtUp(`every replica to hold and commit record ${id}, the message just acknowledged`);
  if (BigInt(state.commit) < id) throw new GradeFailure(`the primary's commit index is ${state.commit}, below ${id}, the id of a message it acknowledged: SENT leaves only once its record is committed (spec section 5.1)`);
  await cluster.finish();
});

test('with both backups down a SEND gets no SENT; once they return on their directories, it does', { points: 6 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const primary = await cluster.waitForPrimary();
  const backups = cluster.ids.filter((id) => id !== primary);
  await makeAccounts(h, cluster, primary, ['alice', 'bob']);
  const alice = await loggedIn(h, cluster, primary, 'alice');
  await sendMessage(alice, 'bob', 'before the crashes');
  await cluster.waitCaughtUp();
  await cluster.kill(...backups);
  alice.send(T.SEND, map({ to: 'bob', text: 'while both backups are down' }));
  const quiet = 1_500;
  h.note(`the grader waits ${quiet} ms: no SENT may come while only the primary has the record`);
  await alice.conn.expectSilence(quiet, { what: 'no reply to the SEND while both backups are down: one copy of three is not a majority (spec section 5.1)' }).catch((error: Error) => {
    throw new GradeFailure(`with both backups killed, the primary must not answer a SEND: a SENT may leave only once a majority (2 of 3) has the record on disk, and a crash of the primary now would lose the message (spec section 5.1). ${error.message}`);
  });
  await cluster.restart(backups[0]!);
  const frame = await alice.readReply('the SENT for the message sent while both backups were down, now that one is back', { timeoutMs: cluster.baseTimeoutMs + 15_000 });
  const reply = alice.decode(frame, 'a SENT');
  if (frame.type !== BigInt(T.SENT) || !(reply instanceof Map) || typeof reply.get('id') !== 'bigint') throw new GradeFailure(`alice expected SENT {id} and got ${alice.describe(frame)}`);
  h.note(`SENT ${show(reply)} arrived once replica ${backups[0]} was back`);
  await cluster.restart(backups[1]!);
  const state = await cluster.waitCaughtUp();
  if (BigInt(state.last) < (reply.get('id') as bigint)) throw new GradeFailure(`the acknowledged message has id ${reply.get('id')}, but the primary's log ends at ${state.last}`);
  await cluster.finish();
});

test('with one backup down, writes go on', { points: 2 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const primary = await cluster.waitForPrimary();
  const backup = cluster.ids.find((id) => id !== primary)!;
  await makeAccounts(h, cluster, primary, ['w1', 'inbox']);
  await cluster.kill(backup);
  const writer = new Writer(h, cluster, 'w1', { to: 'inbox', window: 2 });
  writer.start();
  await writer.progress(10, `with replica ${backup} down: the primary and the other backup are a majority`);
  await writer.stop();
  await cluster.restart(backup);
  await cluster.waitCaughtUp();
  await cluster.finish();
});

// Lab 5's rule on a replica (spec/05-persistence.md, section 7; spec/06-replication.md, section
// 5.1): a frame never written delivered nothing. Every message from the primary to the backups is
// delayed by `heldMs`, so a push waits that long for the commit index; bob's connection is reset
// right after each SEND to him, long before the push can go out.
const heldMs = 300;

test('a push held for the commit when its recipient\'s connection resets delivered nothing: the message waits', { points: 2 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['alice', 'bob']);
  const alice = await loggedIn(h, cluster, primary, 'alice');
  for (const backup of cluster.ids.filter((id) => id !== primary)) cluster.delay(primary, backup, heldMs);
  let waiting: { from: string; id: bigint; text: string } | undefined;
  // Whether the last round counts (resetRightAfter): if not, its message may be gone.
  let judged = true;
  const expectWaiting = async (when: string) => {
    const bob = await loggedInAnyCount(h, cluster, primary, 'bob');
    const got = [...takePushes(bob), ...(await readAll(bob))];
    const want = waiting ? [waiting] : [];
    const excused = !judged && got.length === 0;
    if (!excused && (got.length !== want.length || got.some((m, i) => m.id !== want[i]!.id || m.text !== want[i]!.text))) {
      throw new GradeFailure(
        `bob logged in ${when} and found ${got.length ? describeMessages(got) : 'nothing'}; expected ${want.length ? describeMessages(want) : 'nothing'}.${waiting ? ` Alice sent message ${waiting.id} to bob, and bob's connection was reset right after, while any push of it still waited for the commit index (the primary's messages to the backups take ${heldMs} ms here): such a push was never written, so it delivered nothing, and the message waits for bob's next login (spec/05-persistence.md, section 7)` : ''}`,
      );
    }
    return bob;
  };
  for (let round = 1; round <= 3; round++) {
    const bob = await expectWaiting(round === 1 ? 'first' : `again after reset ${round - 1}`);
    const text = `pushed, then reset ${round}`;
    const { reply, inTime } = await resetRightAfter(() => sendMessage(alice, 'bob', text), () => bob.conn.reset(), heldMs / 2);
    judged = inTime;
    if (!judged) h.note(`round ${round} is not judged: the grader reset bob's connection more than ${heldMs / 2} ms after the SEND (its own process was slow)`);
    waiting = { from: 'alice', id: await reply, text };
  }
  await expectWaiting('after the last reset');
  cluster.heal();
  await cluster.finish();
});

// Lab 5's delivery rule once more, on the primary (replicated.ts, expectHeldPushesWait).
test('pushes the primary held for a client that stopped reading delivered nothing when its connection resets: they wait', { points: 2 }, async (h) => {
  await expectHeldPushesWait(h, newCluster);
});
