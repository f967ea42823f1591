import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import { encodeRecord, R } from '../../05-persistence/tests/logfile.js';
import { Peer, T, expectErrorReply, expectNotPrimary, map, newCluster, peerOn, statusOf } from './replicated.js';
import { writeDataFile } from '../../../grader/harness/datafiles.js';
import { scaled } from '../../../grader/harness/wait.js';
import { Scripted } from './scripted.js';
import { T6, describeStatus } from './wire.js';

const test = phase(lab, '6.1');

test('three empty replicas elect replica 3, the highest id, and stay with it', { points: 4 }, async (h) => {
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

test('the replica with the most complete log wins, whatever its id', { points: 5 }, async (h) => {
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

test('any replica answers STATUS; a backup answers not-primary, naming the primary', { points: 3 }, async (h) => {
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

// Section 7: while the set of replicas it believes alive has grown in the last T ms, a replica
// drops every token. Your replica 1 is one of five; the grader plays 2 to 5, of which 2, 3 and 4
// are up at first. Once your replica is a candidate, replica 4 goes silent until your replica
// no longer lists it alive, then comes back: a HEARTBEAT, then its token, larger than your
// replica's, on the same connection, so your replica has heard 4 again before it reads the token.
// Forwarding it then is what lets two tokens go round rings seen differently. Once replica 4 has
// been back for T ms, its token must go on to replica 2, your replica's successor.
test('a replica whose view of who is alive grew less than T ms ago drops tokens; once it has settled, it forwards a larger one', { points: 3 }, async (h) => {
  const s = await Scripted.create(h, 5);
  const heartbeatMs = scaled(100);
  const timeoutMs = scaled(2_000);
  const proc = await s.start({ heartbeatMs, timeoutMs });
  const [two, three, four] = [s.replica(2), s.replica(3), s.replica(4)];
  const heartbeat = (id: number): [number, Record<string, bigint>] => [T6.HEARTBEAT, { from: BigInt(id), primary: 0n }];
  const token: [number, Record<string, bigint | bigint[]>] = [T6.ELECTION, { from: 4n, candidate: 4n, last: 0n, visited: [4n] }];
  for (const r of [two, three, four]) r.repeat(heartbeatMs, () => heartbeat(r.id));
  await two.expect(T6.ELECTION, "your replica's own token, sent to replica 2, its successor: with no primary for T ms it is a candidate, and T ms after replicas 2, 3 and 4 came up its view has settled (spec section 7)", (v) => v.get('candidate') === 1n, 20_000);

  four.stopRepeating();
  h.note('replica 4 goes silent');
  const poll = await Peer.connect(h, proc, { name: 'STATUS of replica 1' });
  const end = Date.now() + timeoutMs + scaled(10_000);
  for (;;) {
    const st = await statusOf(h, proc, poll);
    if (!st.alive.includes(4)) break;
    if (Date.now() > end) throw new GradeFailure(`replica 4 has sent nothing for more than T = ${timeoutMs} ms, and your replica still lists it alive: ${describeStatus(st)} (spec section 6)`);
    await delay(50);
  }
  poll.conn.destroy();
  four.send(...heartbeat(4));
  four.send(...token);
  h.note("replica 4 comes back: a HEARTBEAT, then its token, larger than your replica's (the same last index, a higher id)");
  await two.expectNone(T6.ELECTION, scaled(1_500), "it forwarded replica 4's token right after replica 4 came back. Its view of who is alive had just grown, so it must drop every token for T ms: a replica alive to some and not yet to others lets two tokens go round rings seen differently and elect two primaries (spec section 7)", (v) => v.get('candidate') === 4n);
  let beat = 0;
  four.repeat(heartbeatMs, () => (beat++ % 2 === 0 ? heartbeat(4) : token));
  const forwarded = await two.expect(T6.ELECTION, "replica 4's token, forwarded by your replica to replica 2: T ms after replica 4 came back its view has settled, and a token larger than its own goes on (spec section 7)", (v) => v.get('candidate') === 4n, 10_000 + timeoutMs);
  const visited = (forwarded.get('visited') as bigint[] | undefined)?.join(', ');
  if (visited !== '4, 1' || forwarded.get('from') !== 1n) throw new GradeFailure(`your replica forwarded replica 4's token as ELECTION {from: ${forwarded.get('from')}, visited: [${visited}]}; it must be from 1 with visited [4, 1]: its own id added (spec sections 3.2 and 7)`);
});
