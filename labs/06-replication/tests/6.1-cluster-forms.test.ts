import { appendFileSync } from 'node:fs';
import path from 'node:path';
import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import { encodeRecord, R } from '../../05-persistence/tests/logfile.js';
import { T, expectErrorReply, expectNotPrimary, loggedIn, makeAccounts, map, newCluster, peerOn, sendMessage } from './replicated.js';

const test = phase(lab, '6.1');

test('three empty replicas elect replica 3, the highest id, and stay with it', { points: 5 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const primary = await cluster.waitForPrimary({ what: 'three new replicas to elect a primary that all of them follow' });
  if (primary !== 3) {
    throw new GradeFailure(`three replicas with empty logs elected replica ${primary}; tokens compare by last index, then by id, so replica 3 must win (spec section 7)`);
  }
  await cluster.until((round) => ([1, 2, 3].every((id) => round.states.get(id)?.alive.length === 2) ? true : undefined), {
    timeoutMs: 10_000,
    what: 'every replica to list the two others as alive in its STATUS (spec section 6)',
  });
  // No election while the primary lives: its APPENDs are its heartbeats.
  const watch = cluster.timeoutMs * 2;
  h.note(`the grader watches for ${watch} ms (twice T) that replica 3 stays the primary`);
  const end = Date.now() + watch;
  while (Date.now() < end) {
    const round = await cluster.poller.nextRound();
    const changed = [...round.states].find(([, s]) => s && (s.primary !== 3 || (s.id !== 3 && s.role !== 'backup')));
    if (changed) {
      throw new GradeFailure(`with replica 3 alive and primary, replica ${changed[0]} changed to ${changed[1]!.role} (primary ${changed[1]!.primary}) ${round.t} ms in: a backup that hears the primary's APPENDs (its heartbeats) must not suspect it (spec section 6)`);
    }
  }
  await cluster.finish();
});

test('the replica with the most complete log wins, whatever its id', { points: 6 }, async (h) => {
  // A long timeout: all three must be up before the first of them gives up on hearing a primary.
  const cluster = await newCluster(h, 3, { timeoutMs: 4_000 });
  const first = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, first, ['alice', 'bob']);
  const alice = await loggedIn(h, cluster, first, 'alice');
  for (const text of ['one', 'two']) await sendMessage(alice, 'bob', text);
  const before = await cluster.waitCaughtUp();
  await cluster.stop(1, 2, 3);
  // Records the others never got: five on replica 1, three of them on replica 2 (one history).
  const extra = Array.from({ length: 5 }, (_, i) => encodeRecord(R.MESSAGE_SENT, map({ from: 'alice', index: BigInt(before.last + i + 1), text: `extra ${i + 1}`, to: 'bob' })));
  appendFileSync(path.join(cluster.member(1).dir, 'log'), Buffer.concat(extra));
  appendFileSync(path.join(cluster.member(2).dir, 'log'), Buffer.concat(extra.slice(0, 3)));
  h.note(`the grader appended 5 records to replica 1's log (now ${before.last + 5}) and the first 3 of them to replica 2's (now ${before.last + 3}); replica 3 stays at ${before.last}`);
  await cluster.restartAll();
  const primary = await cluster.waitForPrimary({ what: 'the restarted replicas to elect a primary' });
  if (primary !== 1) {
    throw new GradeFailure(`after the restart the logs end at ${before.last + 5} (replica 1), ${before.last + 3} (replica 2) and ${before.last} (replica 3), and replica ${primary} was elected; the most complete log must win (tokens compare by last index first: spec section 7)`);
  }
  const after = await cluster.waitCaughtUp('replica 1 to bring the others up to its log');
  if (after.last < before.last + 5) throw new GradeFailure(`replica 1's log ended at ${before.last + 5} before it was elected; now it says ${after.last}`);
  await cluster.finish();
});

test('any replica answers STATUS; a backup answers not-primary, naming the primary', { points: 4 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const primary = await cluster.waitForPrimary();
  for (const id of cluster.ids.filter((i) => i !== primary)) {
    const peer = await peerOn(h, cluster, id, `client of backup ${id}`);
    await peer.ping(`a PONG from backup ${id}: PING is answered by every replica (spec section 3.1)`);
    const address = `127.0.0.1:${cluster.proxy(id, primary).port}`;
    const reply = await expectErrorReply(peer, T.CREATE_ACCOUNT, map({ name: 'carol', password: 'pw' }), `ERROR not-primary from backup ${id} for CREATE_ACCOUNT`);
    expectNotPrimary(peer, reply, primary, address, `CREATE_ACCOUNT sent to backup ${id}`);
    const send = await expectErrorReply(peer, T.SEND, map({ to: 'carol', text: 'hi' }), `ERROR not-primary from backup ${id} for a SEND`);
    expectNotPrimary(peer, send, primary, address, `SEND (not logged in) sent to backup ${id}: not-primary comes before not-logged-in`);
  }
  // The backups applied nothing: the account can still be made on the primary, once.
  await makeAccounts(h, cluster, primary, ['carol']);
  await cluster.finish();
});
