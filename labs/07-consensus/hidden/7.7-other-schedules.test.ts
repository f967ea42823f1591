import lab from './lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import { nemesis } from '../tests/nemesis.js';
import { alwaysStatus, candidateAmong, newCluster, untilStatus } from '../tests/consensus.js';
import { expectHeldPushesWait, expectPeersByHost } from '../../06-replication/tests/replicated.js';
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

// Lab 5's delivery rule on a lab 7 primary (lab 6's replicated.ts, expectHeldPushesWait).
test('pushes the primary held for a client that stopped reading delivered nothing when its connection resets: they wait', { points: 2 }, async (h) => {
  await expectHeldPushesWait(h, newCluster);
});

test('replicas reach each other at the hosts --peers names, here another loopback address', { points: 2 }, async (h) => {
  await expectPeersByHost(h, newCluster);
});
