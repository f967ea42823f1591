import lab from './lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import { nemesis } from '../tests/nemesis.js';
import { alwaysStatus, candidateAmong, loggedIn, loggedInAnyCount, makeAccounts, newCluster, sendMessage, untilStatus } from '../tests/consensus.js';
import { expectUnwrittenWaiting, pushPastTheKernel } from '../../05-persistence/tests/durable.js';
import { expectPeersByHost } from '../../06-replication/tests/replicated.js';
import { T7, show } from '../tests/wire.js';

const test = phase(lab, '7.7');

test('five replicas, compacting every 15 records, under a longer schedule while four clients write', { points: 8 }, async (h) => {
  await nemesis(h, { size: 5, steps: 16, compactAfter: 15, writers: 4 });
});

test('four replicas (a majority is three) under a seeded schedule', { points: 6 }, async (h) => {
  await nemesis(h, { size: 4, steps: 12, holdMs: [500, 2_000] });
});

test('a candidate among five needs three votes of its own term: two, or votes of an older term, do not make it the primary', { points: 6 }, async (h) => {
  const s = await candidateAmong(h, 5);
  const [two, three, four, five] = [2, 3, 4, 5].map((id) => s.replica(id));
  // Back from replica 5 having visited replicas 1, 2 and 3: three of five, a majority.
  five!.send(T7.ELECTION, { from: 5n, term: 2n, candidate: 1n, lastTerm: 2n, last: 2n, visited: [1n, 2n, 3n] });
  const request = await two!.expect(T7.VOTE_REQUEST, 'your replica\'s VOTE_REQUEST, its token back from three of five replicas (spec section 6)');
  if (request.get('term') !== 3n) throw new GradeFailure(`your replica asked for votes with ${show(request)}; from term 2 it asks in term 3 (spec section 6)`);
  // A VOTE of an older term, and one of the right term: with its own, two of five.
  three!.send(T7.VOTE, { from: 3n, term: 2n, granted: 1n });
  two!.send(T7.VOTE, { from: 2n, term: 3n, granted: 1n });
  await alwaysStatus(h, s.yours!, (st) => (st.role !== 'primary' ? undefined : `your replica became the primary of term ${st.term} holding its own vote, replica 2's (of term 3) and replica 3's of term 2: a vote of an older term counts for nothing, so that is two of five, and a primary needs three (spec section 6)`), 600);
  four!.send(T7.VOTE, { from: 4n, term: 3n, granted: 0n });
  await alwaysStatus(h, s.yours!, (st) => (st.role !== 'primary' ? undefined : 'your replica became the primary with a refused VOTE counted: only granted votes count (spec section 6)'), 300);
  five!.send(T7.VOTE, { from: 5n, term: 3n, granted: 1n });
  await untilStatus(h, s.yours!, (st) => st.role === 'primary' && st.term === 3, 'your replica to be the primary of term 3 with three votes of five: its own, replica 2\'s and replica 5\'s (spec section 6)');
});

// Lab 5's delivery rule on a lab 7 primary (spec/05-persistence.md section 7, kept by
// spec/06-replication.md section 5.1, which lab 7 keeps): a push it still held in its own buffer when the connection reset, behind a client
// that stopped reading, was never written (Linux: /proc/net/tcp says what the kernel held).
test('pushes the primary held for a client that stopped reading delivered nothing when its connection resets: they wait', { points: 2 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['alice', 'bob']);
  const alice = await loggedIn(h, cluster, primary, 'alice');
  const bob = await loggedIn(h, cluster, primary, 'bob');
  const sent = await pushPastTheKernel(h, bob, (text) => sendMessage(alice, 'bob', text));
  await expectUnwrittenWaiting(await loggedInAnyCount(h, cluster, primary, 'bob'), sent, 'spec/05-persistence.md section 7, kept by spec/06-replication.md section 5.1 and by lab 7');
  await cluster.finish();
});

test('replicas reach each other at the hosts --peers names, here another loopback address', { points: 2 }, async (h) => {
  await expectPeersByHost(h, newCluster);
});
