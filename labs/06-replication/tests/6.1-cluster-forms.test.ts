import path from 'node:path';
import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import { encodeRecord, R } from '../../05-persistence/tests/logfile.js';
import { T, expectErrorReply, expectNotPrimary, map, newCluster, peerOn } from './replicated.js';
import { writeDataFile } from '../../../grader/harness/datafiles.js';

const test = phase(lab, '6.1');

test('three empty replicas elect replica 3, the highest id, and stay with it', { points: 5 }, async (h) => {
  // Replica 3 first: whichever replica's wait for a primary ends first, equal logs elect the highest id.
  const cluster = await newCluster(h, 3, { first: 3 });
  const primary = await cluster.waitForPrimary({ what: 'three new replicas to elect a primary that all of them follow' });
  if (primary !== 3) {
    throw new GradeFailure(`three replicas with empty logs elected replica ${primary}; tokens compare by last index, then by id, so replica 3 must win (spec section 7)`);
  }
  // No election while the primary lives: its APPENDs are its heartbeats.
  const watch = cluster.timeoutMs + 1_000;
  h.note(`the grader watches for ${watch} ms (T and a second) that replica 3 stays the primary`);
  const end = Date.now() + watch;
  while (Date.now() < end) {
    const round = await cluster.poller.nextRound();
    const changed = [...round.states].find(([, s]) => s && (s.primary !== 3 || (s.id !== 3 && s.role !== 'backup')));
    if (changed) {
      throw new GradeFailure(`with replica 3 alive and primary, replica ${changed[0]} changed to ${changed[1]!.role} (primary ${changed[1]!.primary}) ${round.t} ms in: a backup that hears the primary's APPENDs (its heartbeats) must not suspect it (spec section 6)`);
    }
  }
  // More than T after the election, every replica still hears the two others: the primary by its
  // APPENDs, the backups by their HEARTBEATs.
  const round = await cluster.poller.nextRound();
  for (const [id, state] of round.states) {
    const others = [1, 2, 3].filter((o) => o !== id);
    if (state && state.alive.join() !== others.join()) {
      throw new GradeFailure(`replica ${id}'s STATUS lists [${state.alive.join(', ')}] as alive; all three replicas are up and send every 100 ms, so it must list [${others.join(', ')}]: any message from a replica, an APPEND too, shows it alive (spec section 6)`);
    }
  }
  await cluster.finish();
});

test('the replica with the most complete log wins, whatever its id', { points: 6 }, async (h) => {
  // Logs the grader writes (spec/05-persistence.md's format), prefixes of one history: 12 records
  // on replica 1, 10 on replica 2, 8 on replica 3.
  const cluster = await newCluster(h, 3, { later: [1, 2, 3] });
  const history = [
    encodeRecord(R.ACCOUNT_CREATED, map({ index: 1n, name: 'alice', password: 'made by the grader: no password matches it' })),
    encodeRecord(R.ACCOUNT_CREATED, map({ index: 2n, name: 'bob', password: 'made by the grader: no password matches it' })),
    ...Array.from({ length: 10 }, (_, i) => encodeRecord(R.MESSAGE_SENT, map({ from: 'alice', index: BigInt(i + 3), text: `message ${i + 1}`, to: 'bob' }))),
  ];
  const lengths = new Map([[1, 12], [2, 10], [3, 8]]);
  for (const [id, n] of lengths) writeDataFile(path.join(cluster.member(id).dir, 'log'), Buffer.concat(history.slice(0, n)));
  h.note('the grader wrote the logs: 12 records for replica 1, the first 10 of them for replica 2, the first 8 for replica 3');
  // Replica 3 first, then the others: the first candidate is the one with the shortest log.
  await cluster.startLater(3);
  await cluster.startLater(1, 2);
  const primary = await cluster.waitForPrimary({ what: 'the three replicas to elect a primary' });
  if (primary !== 1) {
    throw new GradeFailure(`the logs end at 12 (replica 1), 10 (replica 2) and 8 (replica 3), and replica ${primary} was elected; the most complete log must win: tokens compare by last index first, by id only on a tie (spec section 7)`);
  }
  const state = cluster.statusNow(1)!;
  if (state.last !== 12) throw new GradeFailure(`replica 1's log holds 12 records; its STATUS says "last": ${state.last} (spec section 3.1)`);
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
  // The backups applied nothing: every log is still empty.
  const round = await cluster.poller.nextRound();
  for (const [id, state] of round.states) {
    if (state && state.last !== 0) throw new GradeFailure(`replica ${id}'s log now ends at ${state.last}: a backup that answers not-primary applies nothing, and no one else wrote (spec section 3.1)`);
  }
  await cluster.finish();
});
