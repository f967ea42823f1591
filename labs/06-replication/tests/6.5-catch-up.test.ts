import lab from '../lab.js';
import { GradeFailure, phase, type Harness } from '../../../grader/harness/index.js';
import { scaled, seconds } from '../../../grader/harness/wait.js';
import { R } from '../../05-persistence/tests/logfile.js';
import { Peer, T, Writer, loggedIn, makeAccounts, map, newCluster, peerOn, sendMessage, statusOf, type Cluster } from './replicated.js';
import { Scripted } from './scripted.js';
import { T6, describeStatus, digests, entry, entryValue, show, type LogEntry, type Value } from './wire.js';

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

test('a backup restarted on its directory catches up, then counts towards a majority', { points: 4 }, async (h) => {
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

test('a replica started with an empty directory catches up, then counts towards a majority', { points: 4 }, async (h) => {
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

test('a primary that crashed with records no one else has drops them when it returns', { points: 2 }, async (h) => {
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

const account = (index: number, name: string): LogEntry => entry(R.ACCOUNT_CREATED, { index: BigInt(index), name, password: 'made by the grader: no password matches it' });
const sent = (index: number, text: string): LogEntry => entry(R.MESSAGE_SENT, { index: BigInt(index), from: 'alice', to: 'bob', text });

test("a backup with a record of its own under a new primary: MISMATCH says where its log ends, records that match stay, the commit index stops at the APPEND's entries and never goes down", { points: 3 }, async (h) => {
  // Your replica 1 ran before, under a primary that crashed: records 1 to 4 every replica has,
  // record 5 only yours (never committed). Replica 2, played by the grader, is the primary now:
  // its own records 5 and 6 are committed, with replica 3.
  const shared = [account(1, 'alice'), account(2, 'bob'), sent(3, 'one'), sent(4, 'two')];
  const theirs = [...shared, sent(5, 'record 5 of the new primary'), sent(6, 'record 6 of the new primary')];
  const digest = digests(theirs);
  const s = await Scripted.create(h, 3);
  s.writeLog([...shared, sent(5, 'record 5 of a primary that crashed before anyone stored it')]);
  h.note("the grader wrote replica 1's log: records 1 to 4 as replica 2 has them, and a record 5 of its own");
  const heartbeatMs = scaled(100);
  const proc = await s.start({ heartbeatMs, timeoutMs: scaled(3_000) });
  const two = s.replica(2);
  const append = (prev: number, entries: LogEntry[]): [number, Record<string, Value>] => [T6.APPEND, { from: 2n, prev: BigInt(prev), digest: digest[prev]!, entries: entries.map(entryValue), commit: 6n }];
  const appended = (index: number, why: string) =>
    two.expect(T6.APPENDED, `APPENDED {index: ${index}} from your replica. ${why}`, (v) => v.get('index') === BigInt(index));

  // First two APPENDs it cannot take: one after a record it does not have, one whose digest at
  // record 4 is not its log's. Each MISMATCH says where its log ends, so the primary can go there.
  two.send(...append(6, []));
  const gap = await two.expect(T6.MISMATCH, 'MISMATCH for an APPEND after record 6, which your log (ending at 5) does not have');
  if (gap.get('prev') !== 6n || gap.get('last') !== 5n) throw new GradeFailure(`for an APPEND with prev 6, your replica (its log ends at record 5) answered ${show(gap)}; it must be MISMATCH {from: 1, prev: 6, last: 5} (spec sections 3.2 and 5.3, step 1)`);
  two.send(T6.APPEND, { from: 2n, prev: 4n, digest: digest[4]! ^ 1n, entries: [entryValue(theirs[4]!)], commit: 6n });
  const wrong = await two.expect(T6.MISMATCH, "MISMATCH for an APPEND whose digest at record 4 is not your log's");
  if (wrong.get('prev') !== 4n || wrong.get('last') !== 5n) throw new GradeFailure(`for an APPEND with prev 4 and a digest that is not your log's there, your replica answered ${show(wrong)}; it must be MISMATCH {from: 1, prev: 4, last: 5}: its log ends at 5 (spec sections 3.2 and 5.3, step 1)`);

  // Records 3 and 4 again, as a primary sends them when it does not know yet how far a returning
  // backup's log agrees with its own (one frame's worth, the rest to follow), with commit 6. It
  // carries a key of a later version too, which a receiver ignores (spec section 3).
  const [type, fields] = append(2, theirs.slice(2, 4));
  two.send(type, { ...fields, term: 2n });
  await appended(4, 'Records 3 and 4 are the ones your log holds: it keeps them and answers with prev + 2 (spec section 5.3). (This APPEND also carried a key "term", which lab 6 does not list: a receiver ignores keys it does not know, spec section 3.)');
  two.repeat(heartbeatMs, () => append(4, []));
  // Its commit index is now min(6, 4) = 4. Above 4 it would call its own record 5 committed: a
  // record no majority ever held, which the new primary's record 5 is about to replace.
  const poll = await Peer.connect(h, proc, { name: 'STATUS of replica 1' });
  const window = scaled(1_500);
  const end = Date.now() + scaled(10_000);
  let reached: number | undefined;
  for (;;) {
    const st = await statusOf(h, proc, poll);
    if (st.commit > 4) {
      throw new GradeFailure(
        `after APPENDs whose entries end at record 4, with the primary's commit index 6, your replica says ${describeStatus(st)}: its commit index is max(its own, min(the APPEND's commit, prev + the number of entries)) = 4 (spec section 5.3, step 4). Past record 4 its log holds its own record 5, which replica 2's next APPEND replaces: it was never committed`,
      );
    }
    if (st.commit === 4) reached ??= Date.now();
    if (reached !== undefined && Date.now() - reached >= window) break;
    if (Date.now() > end) throw new GradeFailure(`the grader waited ${seconds(scaled(10_000))} for your replica's commit index to become 4, min(the APPEND's commit 6, its last entry 4) (spec section 5.3, step 4); its last STATUS: ${describeStatus(st)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  // The rest of the primary's log: record 5 differs from yours, which is cut, and 6 follows.
  two.stopRepeating();
  two.clear();
  two.send(...append(4, theirs.slice(4, 6)));
  await appended(6, 'Its record 5 is not yours: your log is cut after record 4 and takes records 5 and 6 (spec section 5.3, step 2).');
  two.repeat(heartbeatMs, () => append(6, []));
  const caughtUp = Date.now() + scaled(10_000);
  for (;;) {
    const st = await statusOf(h, proc, poll);
    if (st.commit === 6 && st.last === 6) break;
    if (Date.now() > caughtUp) throw new GradeFailure(`after APPENDED {index: 6}, your replica's log and commit index must be 6 (spec section 5.3); its last STATUS: ${describeStatus(st)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  // A late copy of a shorter APPEND, record 5 only (the network may delay one; a primary may send
  // one frame of several). Your log holds record 5, the same: it keeps it, and record 6 after it.
  two.stopRepeating();
  two.clear();
  two.send(...append(4, theirs.slice(4, 5)));
  await appended(5, 'Record 5 only, which your log holds the same: the answer is prev + 1 (spec section 5.3, step 3).');
  const late = await statusOf(h, proc, poll);
  if (late.commit !== 6) throw new GradeFailure(`after a late APPEND carrying only record 5 (commit 6), your replica says ${describeStatus(late)}: its commit index was 6 and never goes down, max(6, min(6, 5)) = 6 (spec section 5.3, step 4)`);
  two.repeat(heartbeatMs, () => append(6, []));
  await appended(6, 'After the late APPEND with record 5 only, an empty one after record 6: your log must still hold record 6, which matched; only a record that differs cuts the log (spec section 5.3, step 2). A MISMATCH here means it was cut.');
  const st = await statusOf(h, proc, poll);
  if (st.last !== 6) throw new GradeFailure(`after a late APPEND carrying only record 5, which it held already, your replica says ${describeStatus(st)}: record 6 matched the primary's log and is kept (spec section 5.3, step 2)`);
  poll.conn.destroy();
});

// Section 5.1, rule 3, with your replica as the primary: the grader plays backups 2 and 3, sends
// your replica's token back to it from a majority, and then replica 2 says its log ends at
// record 1. Your replica's next APPEND to it must start there, min(next, prev, last + 1), not one
// record back per round trip: a replica restarted on an empty or old directory is behind by
// everything, and stepping back one by one costs a round trip per record.
test("your replica as the primary: a MISMATCH's last takes next[b] straight to where the backup's log ends", { points: 2 }, async (h) => {
  const mine = [account(1, 'alice'), account(2, 'bob'), sent(3, 'three'), sent(4, 'four'), sent(5, 'five'), sent(6, 'six')];
  const s = await Scripted.create(h, 3);
  s.writeLog(mine);
  const heartbeatMs = scaled(100);
  await s.start({ heartbeatMs, timeoutMs: scaled(2_000) });
  const [two, three] = [s.replica(2), s.replica(3)];
  for (const r of [two, three]) r.repeat(heartbeatMs, () => [T6.HEARTBEAT, { from: BigInt(r.id), primary: 0n }]);
  await two.expect(T6.ELECTION, "your replica's token (last 6), sent to replica 2 once it is a candidate with a settled view (spec section 7)", (v) => v.get('candidate') === 1n, 20_000);
  // Its token, back from replica 3, having visited all three: your replica becomes the primary.
  three.send(T6.ELECTION, { from: 3n, candidate: 1n, last: 6n, visited: [1n, 2n, 3n] });
  two.clear();
  const first = await two.expect(T6.APPEND, 'an APPEND from your replica, now the primary: its token came back from a majority (spec section 7)', () => true, 10_000);
  const at = first.get('prev') as bigint;
  if (at !== 6n) throw new GradeFailure(`your replica's first APPEND to replica 2 as the primary is ${show(first, 200)}; a new primary sets next[b] to its last index + 1 = 7, so it starts after record 6 (spec section 4)`);
  two.stopRepeating();
  two.clear();
  // With a key of a later version, which a receiver ignores (spec section 3).
  two.send(T6.MISMATCH, { from: 2n, prev: at, last: 1n, term: 2n });
  const back = await two.expect(T6.APPEND, `the APPEND after replica 2's MISMATCH {prev: 6, last: 1, term: 2}: it starts before record 6 (spec section 5.1, rule 3; "term" is a key lab 6 does not list, which a receiver ignores: section 3)`, (v) => (v.get('prev') as bigint) < at, 10_000);
  if (back.get('prev') !== 1n) {
    throw new GradeFailure(`replica 2 answered MISMATCH {prev: 6, last: 1}, and your replica's next APPEND to it starts after record ${String(back.get('prev'))}: next[b] = max(1, min(next[b], prev, last + 1)) = 2, so it starts after record 1. A backup's last says where its log ends; stepping back one record per round trip takes as many round trips as the backup is behind (spec section 5.1, rule 3)`);
  }
  const entries = back.get('entries');
  if (!Array.isArray(entries) || entries.length !== 5) throw new GradeFailure(`your replica's APPEND after record 1 to replica 2 carries ${Array.isArray(entries) ? entries.length : 'no list of'} entries; it sends its records from next[b] on, 2 to 6 (spec section 5.1, rule 1)`);
});
