import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import { scaled } from '../../../grader/harness/wait.js';
import { Scripted, type GraderReplica } from './scripted.js';
import { account, ackOf, alwaysStatus, candidateAmong, expectGone, heartbeatMs, loggedIn, makeAccounts, newCluster, sent, started, statusOf, timeoutMs, trackedSend, untilStatus } from './consensus.js';
import { T7, digests, entryValue, show, type LogEntry } from './wire.js';

const test = phase(lab, '7.3');

const timing = () => ({ heartbeatMs: scaled(heartbeatMs), timeoutMs: scaled(timeoutMs) });

/** Sends VOTE_REQUEST from `who` and returns whether the VOTE that comes back grants it; its term must be `term`. */
async function ask(who: GraderReplica, term: number, lastTerm: number, last: number, why: string): Promise<boolean> {
  who.send(T7.VOTE_REQUEST, { from: BigInt(who.id), term: BigInt(term), lastTerm: BigInt(lastTerm), last: BigInt(last) });
  const vote = await who.expect(T7.VOTE, `your replica's VOTE for replica ${who.id} in term ${term} (spec section 6)`, (v) => v.get('term') === BigInt(term) || (v.get('term') as bigint) > BigInt(term));
  const granted = vote.get('granted');
  if (vote.get('from') !== 1n || (granted !== 0n && granted !== 1n)) throw new GradeFailure(`your replica answered VOTE ${show(vote)}: a VOTE is {from, term, granted: 0 or 1} (spec section 4)`);
  if (vote.get('term') !== BigInt(term)) throw new GradeFailure(`replica ${who.id} asked for a vote in term ${term}, and your replica answered VOTE ${show(vote)}: having seen term ${term}, it is in term ${term} too (spec section 3). ${why}`);
  return granted === 1n;
}

async function expectVote(who: GraderReplica, term: number, lastTerm: number, last: number, want: boolean, why: string): Promise<void> {
  const granted = await ask(who, term, lastTerm, last, why);
  if (granted !== want) {
    throw new GradeFailure(`replica ${who.id} asked your replica for its vote in term ${term} (its log ends at index ${last}, of term ${lastTerm}); your replica ${granted ? 'granted' : 'refused'} it. ${why}`);
  }
}

test('a replica grants one vote per term, and only to a log at least as up to date as its own', { points: 4 }, async (h) => {
  const s = await Scripted.create(h, 3);
  // Replica 1's log: three records, of terms 1, 1 and 2; its term file: term 2, no vote yet.
  s.prepare([account(1, 1, 'alice'), account(2, 1, 'bob'), sent(3, 2, 'hello')], 2n);
  await s.start(timing());
  // The grader's replicas send no HEARTBEAT: yours reaches none of them, and runs no election itself.
  const [two, three] = [s.replica(2), s.replica(3)];
  await expectVote(two, 5, 2, 3, true, 'Its log is as up to date as yours (last term 2, index 3), and your replica voted for no one in term 5 (spec section 6).');
  await expectVote(three, 5, 2, 3, false, 'It voted for replica 2 in term 5 already: one vote per term, or two primaries could be elected in term 5 (spec section 6).');
  await expectVote(two, 5, 2, 3, true, 'It voted for replica 2 in term 5, and replica 2 may ask again (its VOTE may have been lost): the same vote is granted again (spec section 6).');
  await expectVote(three, 6, 1, 9, false, 'Its log is longer, but its last term, 1, is older than your last term, 2: not at least as up to date (spec section 6: last term first, then last index).');
  await expectVote(three, 7, 2, 2, false, 'Its last term is yours, 2, but its log is shorter (index 2 against your 3): not at least as up to date (spec section 6).');
  await expectVote(two, 7, 2, 3, true, 'An equal log is at least as up to date, and your replica voted for no one in term 7 (spec section 6).');
  await expectVote(three, 8, 3, 1, true, 'Its last term, 3, is later than yours, 2: its log is more up to date, though shorter (spec section 6).');
  two.send(T7.VOTE_REQUEST, { from: 2n, term: 4n, lastTerm: 2n, last: 3n });
  const stale = await two.expect(T7.VOTE, 'your replica\'s VOTE for a request of term 4, older than its term 8');
  if (stale.get('granted') !== 0n || stale.get('term') !== 8n) {
    throw new GradeFailure(`replica 2 asked for a vote in term 4, older than your replica's term 8; it answered ${show(stale)}. A request from an older term is refused, and the answer carries your term, 8, so that its sender learns it is out of date (spec sections 3 and 6).`);
  }
});

test('a candidate becomes the primary only with granted votes of its own term, and a primary commits only on APPENDED of its own term: a refusal, or an answer of an older term, counts for nothing', { points: 2 }, async (h) => {
  const s = await candidateAmong(h, 3);
  const [two, three] = [s.replica(2), s.replica(3)];
  // Back from replica 3 having visited replicas 1 and 2: two of three, a majority.
  three.send(T7.ELECTION, { from: 3n, term: 2n, candidate: 1n, lastTerm: 2n, last: 2n, visited: [1n, 2n] });
  const request = await two.expect(T7.VOTE_REQUEST, 'your replica\'s VOTE_REQUEST, its token back from two of three replicas (spec section 6)');
  if (request.get('term') !== 3n) throw new GradeFailure(`your replica asked for votes with ${show(request)}; from term 2 it asks in term 3 (spec section 6)`);
  two.send(T7.VOTE, { from: 2n, term: 3n, granted: 0n });
  three.send(T7.VOTE, { from: 3n, term: 2n, granted: 1n });
  await alwaysStatus(h, s.yours!, (st) => (st.role !== 'primary' ? undefined : `your replica became the primary of term ${st.term} with its own vote, replica 2's refusal and replica 3's grant of term 2: only granted votes of its own term count, so that is one of three, and a primary needs two (spec section 6)`), 600);
  three.send(T7.VOTE, { from: 3n, term: 3n, granted: 1n });
  const st = await untilStatus(h, s.yours!, (st) => st.role === 'primary' && st.term === 3 && st.last >= 3, 'your replica to be the primary of term 3 with two votes of three (its own and replica 3\'s), its TERM_STARTED appended (spec sections 6 and 8)');
  // Its TERM_STARTED, of term 3, is its last record. An answer of term 2 for it (late, from before
  // this term: that replica may have replaced the record since) is no copy; one of term 3 is.
  const last = BigInt(st.last);
  three.send(T7.APPENDED, { from: 3n, term: 2n, index: last });
  await alwaysStatus(h, s.yours!, (st) => (st.commit < st.last ? undefined : `your replica, primary of term 3, moved its commit index to ${st.commit} on its own copy and replica 3's APPENDED {index: ${last}} of term 2: an answer of an older term counts for nothing (spec section 8: the primary counts answers of its own term), so one replica of three holds the record`), 600);
  three.send(T7.APPENDED, { from: 3n, term: 3n, index: last });
  await untilStatus(h, s.yours!, (st) => st.commit >= Number(last), `your replica, primary of term 3, to commit record ${last} once replica 3 answers APPENDED {index: ${last}} of term 3: two of three hold it (spec section 8)`);
});

test('a vote is saved before it is sent: after kill -9 the replica does not vote again in that term', { points: 3 }, async (h) => {
  const s = await Scripted.create(h, 3);
  s.prepare([account(1, 1, 'alice'), account(2, 2, 'bob')], 2n);
  await s.start(timing());
  const [two, three] = [s.replica(2), s.replica(3)];
  await expectVote(two, 3, 2, 2, true, 'Its log is as up to date as yours, and your replica voted for no one in term 3 (spec section 6).');
  h.note('the grader kills replica 1 (kill -9) the moment its VOTE arrives, and starts it again on its directory');
  await s.restart();
  await expectVote(three, 3, 2, 2, false, 'Before it was killed, your replica voted for replica 2 in term 3: the `term` file holds that vote, saved before the VOTE was sent, so that a restart cannot vote twice in one term (spec sections 6 and 12).');
  await expectVote(three, 4, 2, 2, true, 'A new term, and no vote cast in it (spec section 6).');
  const state = await statusOf(h, s.yours!);
  if (state.term !== 4) throw new GradeFailure(`after voting in term 4, your replica's STATUS says term ${state.term} (spec section 11)`);
});

/** The log of the primary of term 3 in the repair test, and what replica 1 holds. */
const common = [account(1, 1, 'alice'), account(2, 1, 'bob')];
const ours = [...common, sent(3, 2, 'only on replica 1, term 2'), sent(4, 2, 'only on replica 1 too')];
const theirs = [...common, started(3, 3, 2), sent(4, 3, 'from the primary of term 3'), sent(5, 3, 'five'), sent(6, 3, 'six')];
const theirDigest = digests(theirs);

function append(primary: GraderReplica, term: number, prev: number, entries: LogEntry[], commit: number, digest = theirDigest[prev]!): void {
  primary.send(T7.APPEND, { from: BigInt(primary.id), term: BigInt(term), prev: BigInt(prev), digest, entries: entries.map(entryValue), commit: BigInt(commit) });
}

async function expectAppended(primary: GraderReplica, term: number, index: number, why: string): Promise<void> {
  const answer = await primary.expect(T7.APPENDED, `APPENDED {term: ${term}, index: ${index}} from your replica`, (v) => v.get('term') === BigInt(term), 5_000).catch(async () => {
    throw new GradeFailure(`replica ${primary.id} (the grader), primary of term ${term}, waited for APPENDED {index: ${index}} and got none. ${why}`);
  });
  if (answer.get('index') !== BigInt(index)) throw new GradeFailure(`replica ${primary.id}, primary of term ${term}, expected APPENDED {index: ${index}} and got ${show(answer)}. ${why}`);
}

test('a backup takes the primary\'s log: a conflicting suffix is cut, the previous entry is checked, an older term is refused', { points: 5 }, async (h) => {
  const s = await Scripted.create(h, 3);
  s.prepare(ours, 2n);
  await s.start(timing());
  const [two, three] = [s.replica(2), s.replica(3)];
  two.term = 3n;
  two.primary = 2;
  // First an APPEND after record 2, which both logs hold, with no entries and the primary's commit
  // index 6: only records 1 and 2 are known to be the primary's, so the commit index becomes 2.
  // Past it, your records 3 and 4 (of term 2) are about to be replaced: they were never committed.
  append(two, 3, 2, [], 6);
  await expectAppended(two, 3, 2, 'An APPEND with no entries after record 2, which your log holds with the primary\'s digest (spec section 7).');
  await alwaysStatus(h, s.yours!, (st) => (st.commit <= 2 ? undefined : `after an APPEND with no entries after record 2 and the primary's commit index 6, your replica's commit index is ${st.commit}: it becomes min(6, prev + 0) = 2, the last record known to be the primary's; its own records 3 and 4, of term 2, may differ from the primary's, and here they do (spec section 7, step 4)`), 500);
  // Replica 2, the primary of term 3, sends records 3 and 4 of its own log after record 2, which both hold.
  append(two, 3, 2, theirs.slice(2, 4), 0);
  await expectAppended(two, 3, 4, 'Its records 3 and 4 (of term 3) differ from yours (of term 2) at the same indexes: your replica cuts its own off (they were never committed) and appends the primary\'s (spec section 7).');
  // An empty APPEND after record 4, with the primary's digest there: only a log equal to the primary's matches.
  append(two, 3, 4, [], 4);
  await expectAppended(two, 3, 4, 'This APPEND starts after record 4 with the digest of the primary\'s log there: your log must now be the primary\'s up to 4, so the check on the previous entry passes. A MISMATCH means the old records 3 and 4 are still there (spec section 7).');
  await untilStatus(h, s.yours!, (st) => st.commit === 4 && st.last === 4 && st.term === 3 && st.primary === 2 && st.role === 'backup', 'your replica to be a backup of replica 2 in term 3, with the log and commit index at 4 (spec section 7, step 4)');

  // The check on the previous entry: a gap, then a wrong digest.
  append(two, 3, 6, theirs.slice(6), 4);
  const gap = await two.expect(T7.MISMATCH, 'MISMATCH for an APPEND that starts after record 6, which your log does not have', (v) => v.get('term') === 3n);
  if (gap.get('prev') !== 6n || gap.get('last') !== 4n) throw new GradeFailure(`for an APPEND with prev 6, your replica (log at 4) answered ${show(gap)}; it must be MISMATCH {prev: 6, last: 4} (spec section 7)`);
  append(two, 3, 4, theirs.slice(4, 5), 4, 12345n);
  const wrong = await two.expect(T7.MISMATCH, 'MISMATCH for an APPEND whose digest at record 4 is not your log\'s', (v) => v.get('term') === 3n);
  if (wrong.get('prev') !== 4n) throw new GradeFailure(`for an APPEND with prev 4 and a digest that is not yours there, your replica answered ${show(wrong)}; it must be MISMATCH {prev: 4, last: 4}: the entries follow a record your log does not hold (spec section 7)`);

  // Records 5 and 6 with the commit index at 6, then a late copy of a shorter APPEND: it must not
  // cut record 6, nor take the commit index back to 5.
  append(two, 3, 4, theirs.slice(4, 6), 6);
  await expectAppended(two, 3, 6, 'Records 5 and 6 follow record 4, which matches (spec section 7).');
  await untilStatus(h, s.yours!, (st) => st.commit === 6 && st.last === 6, 'your replica\'s log and commit index to be 6, min(the APPEND\'s commit 6, its last entry 6) (spec section 7, step 4)');
  append(two, 3, 4, theirs.slice(4, 5), 6);
  await expectAppended(two, 3, 5, 'An APPEND that arrives late, with record 5 only: your replica already holds it, the same, and keeps it (spec section 7).');
  await alwaysStatus(h, s.yours!, (st) => {
    if (st.last !== 6) return `after a late APPEND carrying only record 5, which it held already, your replica's log ends at ${st.last}: record 6 matched the primary's log and is kept; only a record that differs cuts the suffix (spec section 7, step 2)`;
    if (st.commit !== 6) return `after a late APPEND carrying only record 5 (commit 6), your replica's commit index is ${st.commit}: it was 6, and becomes max(6, min(6, 5)) = 6; a commit index never goes down (spec section 7, step 4)`;
    return undefined;
  }, 500);

  // Replica 3 says it is the primary of term 2, older than 3: its APPEND must change nothing.
  append(three, 2, 2, [sent(3, 2, 'an APPEND from term 2')], 6, theirDigest[2]);
  await three.expectNone(T7.APPENDED, 1_500, 'an APPEND of term 2, older than your replica\'s term 3, is refused: it changes nothing and gets no APPENDED (spec section 3)');
  await alwaysStatus(h, s.yours!, (st) => (st.last === 6 && st.term === 3 && st.primary !== 3 ? undefined : `after an APPEND of term 2 from replica 3, your replica says: role ${st.role}, primary ${st.primary}, term ${st.term}, log ${st.last}. A message from an older term is ignored (spec section 3)`), 500);
  append(two, 3, 6, [], 6);
  await expectAppended(two, 3, 6, 'Your log must still be the primary\'s up to 6 after the APPEND of term 2, which it ignores (spec section 3).');
});

test('a primary commits a record of an older term only through one of its own (Figure 8 of the Raft paper), and probes a backup whose log differs', { points: 6 }, async (h) => {
  const s = await Scripted.create(h, 3);
  // Replica 1 holds record 2 of term 2, which no majority may have: the primary of term 2 went away.
  s.prepare([account(1, 1, 'alice'), account(2, 2, 'bob')], 3n);
  const [two, three] = [s.replica(2), s.replica(3)];
  for (const r of [two, three]) r.term = 3n;
  await s.start(timing());
  for (const r of [two, three]) r.heartbeats(scaled(heartbeatMs), [1]);
  // With no primary for T, replica 1 becomes a candidate; its successor on the ring is replica 2.
  const token = await two.expect(T7.ELECTION, 'your replica\'s token (ELECTION), T ms after it started with no primary (spec section 6)', (v) => v.get('candidate') === 1n, timeoutMs * 4 + 5_000);
  if (token.get('lastTerm') !== 2n || token.get('last') !== 2n) throw new GradeFailure(`your replica's token is ${show(token)}; its log ends at index 2, of term 2, so the token says lastTerm 2, last 2 (spec section 6)`);
  // The token comes back from replica 3, having visited every replica: a majority said "no primary".
  three.send(T7.ELECTION, { from: 3n, term: 3n, candidate: 1n, lastTerm: 2n, last: 2n, visited: [1n, 2n, 3n] });
  const request = await two.expect(T7.VOTE_REQUEST, 'your replica\'s VOTE_REQUEST in term 4, now that its token came back from a majority (spec section 6)', () => true);
  if (request.get('term') !== 4n || request.get('lastTerm') !== 2n || request.get('last') !== 2n) {
    throw new GradeFailure(`your replica asked for votes with ${show(request)}; its term was 3, so it asks in term 4, with its log's last term 2 and last index 2 (spec section 6)`);
  }
  for (const r of [two, three]) r.term = 4n;
  two.send(T7.VOTE, { from: 2n, term: 4n, granted: 1n });
  // Its first APPEND as the primary of term 4 carries TERM_STARTED, record 3.
  const first = await two.expect(T7.APPEND, 'an APPEND from your replica, the primary of term 4 (spec section 5)', (v) => v.get('term') === 4n);
  h.note(`your replica, primary of term 4, sent ${show(first, 200)}`);
  await untilStatus(h, s.yours!, (st) => st.role === 'primary' && st.term === 4 && st.last === 3, 'your replica to be the primary of term 4 with TERM_STARTED appended as record 3 (spec section 5)');

  // Replica 3's log parts from yours after record 1 and goes on to 12: it answers MISMATCH, and your
  // replica probes it (APPENDs without entries) until it answers APPENDED, then sends the entries.
  const toThree = await three.expect(T7.APPEND, 'your replica\'s first APPEND to replica 3, as the primary of term 4', (v) => v.get('term') === 4n);
  const prev = toThree.get('prev') as bigint;
  three.send(T7.MISMATCH, { from: 3n, term: 4n, prev, last: 12n });
  const probe = await three.expect(T7.APPEND, `the APPEND after replica 3's MISMATCH {prev: ${prev}, last: 12}: it starts before record ${prev} (spec section 7)`, (v) => v.get('term') === 4n && (v.get('prev') as bigint) < prev);
  const carried = probe.get('entries');
  if (!Array.isArray(carried) || carried.length !== 0) {
    throw new GradeFailure(`after replica 3's MISMATCH, your replica sent it ${show(probe, 200)}: a primary probing a backup sends APPENDs without entries until the backup answers APPENDED; entries sent meanwhile move next[b] forward again, and the answer to them undoes the step back (spec section 7, rules 1 and 3)`);
  }
  three.send(T7.APPENDED, { from: 3n, term: 4n, index: probe.get('prev') as bigint });
  const entries = await three.expect(T7.APPEND, `the APPEND with your records after ${probe.get('prev')}, once replica 3 answered APPENDED to the probe (spec section 7, rule 2)`, (v) => v.get('term') === 4n && v.get('prev') === probe.get('prev') && Array.isArray(v.get('entries')) && (v.get('entries') as unknown[]).length > 0);
  h.note(`your replica sent replica 3 ${show(entries, 200)}`);

  // Replica 2 reports holding the log up to record 2 only: records 1 and 2 are on a majority now.
  two.send(T7.APPENDED, { from: 2n, term: 4n, index: 2n });
  await alwaysStatus(h, s.yours!, (st) => (st.commit < 2 ? undefined : `your replica, primary of term 4, moved its commit index to ${st.commit} when replica 2 reported holding records up to 2: record 2 is of term 2, not 4. A primary counts a majority only for a record of its own term; record 2 could still be replaced by another primary, as in Figure 8 of the Raft paper (spec section 8)`), 1_500);
  two.send(T7.APPENDED, { from: 2n, term: 4n, index: 3n });
  await untilStatus(h, s.yours!, (st) => st.commit === 3, 'your replica\'s commit index to reach 3 once replica 2 holds record 3, of term 4: a majority holds a record of its own term, and everything before it is committed with it (spec section 8)');

  // Replica 2 now says its log is empty (MISMATCH with last 0): your replica goes straight to
  // where that log ends, min(next, prev, last + 1), not one record back per round trip.
  two.clear();
  const beat = await two.expect(T7.APPEND, 'an APPEND (a heartbeat) to replica 2 after it reported record 3', (v) => v.get('term') === 4n);
  const at = beat.get('prev') as bigint;
  two.clear();
  two.send(T7.MISMATCH, { from: 2n, term: 4n, prev: at, last: 0n });
  const back = await two.expect(T7.APPEND, `the APPEND after replica 2's MISMATCH {prev: ${at}, last: 0}: it starts before record ${at} (spec section 7)`, (v) => v.get('term') === 4n && (v.get('prev') as bigint) < at);
  if (back.get('prev') !== 0n) {
    throw new GradeFailure(`replica 2 answered MISMATCH {prev: ${at}, last: 0}, and your replica's next APPEND to it starts after record ${String(back.get('prev'))}: next[b] = max(1, min(next[b], prev, last + 1)) = 1, so it starts after record 0. A backup's last says where its log ends; stepping back one record per round trip takes as many round trips as the backup is behind (spec section 7, rule 3)`);
  }
});

test('after partitions and a crash leave three different logs, every log converges to the new primary\'s', { points: 5 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const first = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, first, ['alice', 'bob', 'carol', 'inbox']);
  const alice = await loggedIn(h, cluster, first, 'alice');
  for (const text of ['everywhere 1', 'everywhere 2']) await ackOf(cluster, alice, trackedSend(cluster, alice, first, 'alice', text), first, `the SENT for "${text}"`);
  await cluster.waitCaughtUp();
  // The first primary, cut off, appends two records that no one else gets.
  cluster.isolate(first);
  const lostFirst = ['only on the first primary 1', 'only on the first primary 2'].map((text) => trackedSend(cluster, alice, first, 'alice', text));
  const others = cluster.ids.filter((id) => id !== first);
  const second = await cluster.waitForPrimary({ members: others, what: `a primary among replicas ${others.join(' and ')}, with replica ${first} cut off` });
  const bob = await loggedIn(h, cluster, second, 'bob');
  for (const text of ['on the second primary 1', 'on the second primary 2']) await ackOf(cluster, bob, trackedSend(cluster, bob, second, 'bob', text), second, `the SENT from replica ${second} for "${text}"`);
  const third = others.find((id) => id !== second)!;
  await cluster.until((r) => (r.states.get(third)?.last === r.states.get(second)?.last ? true : undefined), { timeoutMs: 10_000, what: `replica ${third} to hold replica ${second}'s log` });
  // The second primary, cut off too, appends two more of its own, and crashes.
  cluster.isolate(second);
  const lostSecond = ['only on the second primary 1', 'only on the second primary 2'].map((text) => trackedSend(cluster, bob, second, 'bob', text));
  await cluster.until((r) => ((r.states.get(second)?.last ?? 0) >= (r.states.get(third)?.last ?? 0) + 2 ? true : undefined), { timeoutMs: 10_000, what: `replica ${second} to append bob's last two SENDs` });
  await cluster.kill(second);
  for (const op of [...lostFirst, ...lostSecond]) cluster.history.abandoned(op, op === lostFirst[0] || op === lostFirst[1] ? first : second);
  h.note(`three logs now differ: replica ${first}'s ends with two records of its term, replica ${second}'s with two of the next term, replica ${third}'s with neither`);
  cluster.heal();
  const leader = await cluster.waitForPrimary({ what: `a primary among replicas ${first} and ${third}: replica ${third}, whose last record is of the later term, is the more up to date (spec section 6)` });
  if (leader !== third) throw new GradeFailure(`replica ${leader} became the primary; replica ${third}'s log is more up to date (its last record is of a later term than replica ${first}'s), so replica ${first} cannot get its vote and replica ${third} must win (spec section 6)`);
  await cluster.restart(second);
  await cluster.waitCaughtUp(`every log to be replica ${third}'s: replicas ${first} and ${second} cut off the records only they had and take the primary's (spec section 7)`);
  const carol = await loggedIn(h, cluster, third, 'carol');
  await ackOf(cluster, carol, trackedSend(cluster, carol, third, 'carol', 'after the repair'), third, 'the SENT for a message after the repair');
  await cluster.waitCaughtUp();
  await cluster.finish();
  expectGone(cluster, [...lostFirst, ...lostSecond].map((op) => op.text));
});
