import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import { lastIndex, queuedInSnapshot, readReplicaLog, recordAt } from '../../../grader/replication/logs.js';
import { T, map, show } from './wire.js';
import { Writer, ackOf, loggedIn, makeAccounts, newCluster, trackedSend, type Cluster } from './consensus.js';

const test = phase(lab, '7.4');

const compactAfter = 20;

/** Every acknowledged message is in each replica's data directory: in its snapshot's queues, or in its log. */
function expectEveryAckedMessage(cluster: Cluster): void {
  for (const m of cluster.members) {
    const log = readReplicaLog(m.id, m.dir);
    const queued = queuedInSnapshot(log);
    for (const op of cluster.history.ops) {
      if (op.id === undefined) continue;
      const inSnapshot = op.id <= log.base && queued.some((q) => q.id === op.id && q.text === op.text && q.to === op.to);
      const record = recordAt(log, op.id);
      const inLog = record?.payload.get('text') === op.text;
      if (inSnapshot || inLog) continue;
      throw new GradeFailure(
        `replica ${m.id}'s data directory does not hold ${op.writer}'s acknowledged ${JSON.stringify(op.text)} (id ${op.id}): ` +
          (op.id <= log.base ? `its snapshot (up to record ${log.base}) does not have it queued for ${op.to}` : `its log holds ${record ? show(record.payload, 160) : 'nothing'} at record ${op.id}`) +
          '. A snapshot is the state as of its index, every waiting message included (spec section 10).',
      );
    }
  }
}

test('a backup that missed records the primary compacted away gets its snapshot, then the rest, and then counts', { points: 4 }, async (h) => {
  const cluster = await newCluster(h, 3, { compactAfter });
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['w1', 'w2', 'inbox']);
  const writers = ['w1', 'w2'].map((name) => new Writer(h, cluster, name, { to: 'inbox', window: 2, paceMs: 2, resend: true }));
  for (const writer of writers) writer.start();
  await Promise.all(writers.map((w) => w.progress(3, 'before any crash')));
  const backups = cluster.ids.filter((id) => id !== primary);
  const far = h.random.pick(backups);
  const other = backups.find((id) => id !== far)!;
  await cluster.kill(far);
  await Promise.all(writers.map((w) => w.progress(compactAfter * 2, `while replica ${far} is down: the primary compacts after ${compactAfter} committed records (--compact-after)`)));
  const target = cluster.statusNow(primary)?.last ?? 0;
  await cluster.restart(far);
  await cluster.until((r) => {
    const b = r.states.get(far);
    return b && b.primary === primary && b.last >= target ? true : undefined;
  }, { timeoutMs: cluster.baseTimeoutMs + 20_000, what: `replica ${far}, back on its directory, to follow replica ${primary} and hold its log (spec section 10)` });
  const snapshot = cluster.history.snapshots.find((s) => s.from === primary && s.to === far);
  if (!snapshot) {
    throw new GradeFailure(
      `replica ${far} came back ${compactAfter * 4} records behind, and caught up without an INSTALL_SNAPSHOT from replica ${primary}: with --compact-after ${compactAfter} the primary must have compacted the records it missed, and send its snapshot instead (spec section 10)`,
    );
  }
  h.note(`replica ${primary} sent replica ${far} its snapshot up to record ${snapshot.index}`);
  await cluster.kill(other);
  await Promise.all(writers.map((w) => w.progress(5, `with replica ${other} down: replica ${far}, caught up from a snapshot, and the primary are a majority`)));
  await cluster.restart(other);
  await Promise.all(writers.map((w) => w.stop()));
  await cluster.waitCaughtUp();
  await cluster.finish();
  const compacted = readReplicaLog(primary, cluster.member(primary).dir);
  if (compacted.base === 0n) throw new GradeFailure(`replica ${primary}'s data directory has no snapshot after ${cluster.history.ops.length} messages with --compact-after ${compactAfter} (spec section 10)`);
  expectEveryAckedMessage(cluster);
});

test('the snapshot keeps the table of (client, seq): a SEND sent again to a replica caught up from a snapshot is applied once', { points: 3 }, async (h) => {
  const cluster = await newCluster(h, 3, { compactAfter });
  const primary = await cluster.waitForPrimary();
  // The replica with the highest id among the backups: with equal logs, it wins the election.
  const far = Math.max(...cluster.ids.filter((id) => id !== primary));
  // Down before anything is written: all it will know of the accounts and of seq 1 is in the snapshot.
  await cluster.kill(far);
  await makeAccounts(h, cluster, primary, ['alice', 'bob']);
  const alice = await loggedIn(h, cluster, primary, 'alice');
  const client = BigInt(h.random.int(1, 2 ** 30));
  const first = await alice.call(T.SEND, map({ to: 'bob', text: 'once, before the snapshot', client, seq: 1n }), T.SENT, 'the SENT for seq 1');
  for (let seq = 2n; seq <= BigInt(compactAfter * 2); seq++) await alice.call(T.SEND, map({ to: 'bob', text: `filler ${seq}`, client, seq }), T.SENT, `the SENT for seq ${seq}`);
  await cluster.restart(far);
  await cluster.waitCaughtUp(`replica ${far}, back ${compactAfter * 2} records behind, to catch up from replica ${primary}'s snapshot (spec section 10)`);
  if (!cluster.history.snapshots.some((s) => s.to === far)) throw new GradeFailure(`replica ${far} caught up without a snapshot: with --compact-after ${compactAfter}, replica ${primary} must have compacted the records it missed (spec section 10)`);
  await cluster.kill(primary);
  const next = await cluster.waitForPrimary({ what: `a new primary after replica ${primary} was killed` });
  if (next !== far) {
    throw new GradeFailure(`replica ${next} became the primary; replicas ${cluster.ids.filter((id) => id !== primary).join(' and ')} hold the same log, and a tie goes to the higher id, replica ${far} (spec section 6)`);
  }
  const alice2 = await loggedIn(h, cluster, far, 'alice');
  const last = cluster.statusNow(far)!.last;
  const again = await alice2.call(T.SEND, map({ to: 'bob', text: 'once, before the snapshot', client, seq: 1n }), T.SENT, `the SENT from replica ${far} for seq 1 sent again`);
  if (again.get('id') !== first.get('id')) {
    throw new GradeFailure(
      `seq 1 of client ${client} got SENT {id: ${first.get('id')}}; sent again to replica ${far}, which learned that message from a snapshot, it got ${show(again)}. The snapshot keeps each client's remembered SENDs (its "clients" list, spec section 10), so that a retry is still applied once.`,
    );
  }
  const state = await cluster.until((r) => r.states.get(far), { timeoutMs: 5_000, what: `replica ${far}'s STATUS` });
  if (state.last !== last) throw new GradeFailure(`replica ${far}'s log went from ${last} to ${state.last} records for a SEND it had applied already: a retry appends nothing (spec/06-replication.md, section 8)`);
  await cluster.restart(primary);
  await cluster.waitCaughtUp();
  await cluster.finish();
});

test('a backup restarted on its own snapshot and the records after it goes on from the snapshot: it keeps taking records, and never disowns one it acknowledged', { points: 3 }, async (h) => {
  const small = 5;
  const cluster = await newCluster(h, 3, { compactAfter: small });
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['w1', 'w2', 'w3', 'inbox']);
  const before = new Writer(h, cluster, 'w1', { to: 'inbox', window: 1, paceMs: 2, resend: true });
  before.start();
  await before.progress(small * 2 + 2, `with --compact-after ${small}: every replica compacts`);
  await before.stop();
  await cluster.waitCaughtUp();
  const backup = h.random.pick(cluster.ids.filter((id) => id !== primary));
  const dir = cluster.member(backup).dir;
  let log = readReplicaLog(backup, dir);
  if (log.base === 0n) throw new GradeFailure(`replica ${backup} holds no snapshot with --compact-after ${small} and ${lastIndex(log)} committed records (spec section 10)`);
  if (lastIndex(log) === log.base) {
    // Its last compaction took every record: one SEND more stays in its log (it is fewer than C).
    const peer = await loggedIn(h, cluster, primary, 'w3');
    const op = trackedSend(cluster, peer, primary, 'w3', 'w3 after the last compaction');
    await ackOf(cluster, peer, op, primary, 'the SENT for one more message');
    await cluster.waitCaughtUp();
    log = readReplicaLog(backup, dir);
  }
  if (lastIndex(log) === log.base) throw new GradeFailure(`replica ${backup}'s log holds no record after its snapshot (up to record ${log.base}), even after one more committed SEND: a replica compacts only once C = ${small} committed records follow its snapshot (spec section 10)`);
  h.note(`replica ${backup} holds a snapshot up to record ${log.base} and records ${log.base + 1n} to ${lastIndex(log)} after it`);
  await cluster.kill(backup);
  await cluster.restart(backup);
  const after = new Writer(h, cluster, 'w2', { to: 'inbox', window: 1, paceMs: 2, resend: true });
  after.start();
  await after.progress(small * 3, `after replica ${backup} came back on its snapshot and the records after it`);
  await after.stop();
  await cluster.waitCaughtUp(`replica ${backup}, restarted on its snapshot and the records after it, to hold the primary's log (its digests go on from the snapshot's: spec section 10)`);
  await cluster.finish();
});
