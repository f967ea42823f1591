// Schedules of crashes at named points, for labs 6 and 7 (their hidden phases 6.8 and 7.8). Each
// is a short run of a fresh cluster: a few records, one fault at a point the proxies name, the
// survivors elect, and the checker judges the whole history; then one more rule the schedule is
// about: every message acknowledged is in the log of the primary the survivors elected.
//
// Which replica plays which part, and where the schedule strikes, come from the schedule's own
// generator (explorer.ts), leaning to the adversarial choice: the replica that lacks a record is
// given the higher id, so that a tie broken by id picks it.
//
//   pair crash     the third replica down; a SEND; the backup killed (-9) the moment its APPENDED
//                  reaches the proxy (before the primary reads it), or once the client has its
//                  SENT; then the primary killed. The backup and the third replica come back on
//                  their directories: a majority, so the acknowledged message must be there
//                  (an APPENDED promises a copy on disk).
//   laggard        the primary's messages to the third replica held (it stays up, behind); a SEND;
//                  the backup's APPENDED for it holds the primary's messages to the backup too, so
//                  neither learns the new commit index; once the client has its SENT the primary is
//                  killed. Both survivors have the same commit index; the backup holds the record,
//                  the other does not: the backup must win, whatever the ids.
//   reconnect      five replicas, two down and the primary's messages to a third held (it stays
//                  up, so that a lab 7 primary still hears a majority); a SEND that the primary and
//                  one backup hold (two of five, not committed); that backup restarted with an
//                  empty directory; once the primary has connected to it again (its link there
//                  then held), the third let through, and it catches up. A primary that still
//                  counts the emptied backup acknowledges a record two replicas hold; killed with
//                  the one that caught up, the record is lost. (Before the primary reconnects it
//                  cannot know the backup restarted: the spec lets it count the old APPENDED.)
import { GradeFailure, type Harness } from '../harness/index.js';
import { T, map } from '../../labs/03-protocol/tests/wire.js';
import type { Peer } from '../../labs/03-protocol/tests/peer.js';
import { loggedIn, makeAccounts } from '../../labs/06-replication/tests/replicated.js';
import { T6 } from '../../labs/06-replication/tests/wire.js';
import type { Cluster, ClusterOptions } from '../replication/cluster.js';
import type { Op } from '../replication/history.js';
import { readReplicaLog, recordAt } from '../replication/logs.js';
import { R } from '../../labs/05-persistence/tests/logfile.js';
import type { Schedule } from './explorer.js';
import { intAt } from './points.js';

/** How a lab starts its cluster (its own H and T, lab 7's rules or lab 6's). */
export type StartCluster = (h: Harness, size: number, options: Omit<ClusterOptions, 'size'>) => Promise<Cluster>;

/** A SEND on `peer` that the history knows of, as a writer's is. */
function trackedSend(cluster: Cluster, peer: Peer, replica: number, text: string): Op {
  const op = cluster.history.op('alice', 0n, cluster.history.ops.filter((o) => o.writer === 'alice').length + 1, 'inbox', 1);
  op.text = text;
  cluster.history.sent(op, replica, false);
  peer.send(T.SEND, map({ to: 'inbox', text }));
  return op;
}

/** The SENT for `op` within `timeoutMs`, noted in the history; undefined if none came (or the connection died). */
async function sentWithin(cluster: Cluster, peer: Peer, op: Op, replica: number, timeoutMs: number, what: string): Promise<bigint | undefined> {
  try {
    const frame = await peer.readReply(what, { timeoutMs });
    const value = peer.decode(frame, what);
    const id = value instanceof Map ? value.get('id') : undefined;
    if (frame.type === BigInt(T.SENT) && typeof id === 'bigint') {
      cluster.history.acked(op, id, replica);
      return id;
    }
  } catch (error) {
    if (!(error instanceof GradeFailure)) throw error;
  }
  // Its fate unknown: it may or may not be in the log at the end.
  cluster.history.abandoned(op, replica);
  return undefined;
}

/**
 * After the cluster is stopped and checked: every acknowledged message is record `id` of the log
 * of `primary`, the one the survivors elected (the checker's reference may be a dead replica's).
 */
function survivorsHold(cluster: Cluster, primary: number, why: string): void {
  const log = readReplicaLog(primary, cluster.member(primary).dir);
  for (const op of cluster.history.ops) {
    if (op.id === undefined || op.id <= log.base) continue;
    const record = recordAt(log, op.id);
    if (record?.type === R.MESSAGE_SENT && record.payload.get('text') === op.text) continue;
    throw new GradeFailure(
      `rule broken: no acknowledged message lost. ${JSON.stringify(op.text)} got SENT {id: ${op.id}} from replica ${op.ackedBy}, ` +
        `and replica ${primary}, elected by the survivors, does not hold it at record ${op.id} (${record ? `it holds a record of type ${record.type} there` : 'its log is shorter'}). ${why}`,
    );
  }
}

/** The primary the survivors elected reaches at least record `id`, acknowledged: its STATUS says so at once. */
function newPrimaryHolds(cluster: Cluster, primary: number, id: bigint): void {
  const status = cluster.statusNow(primary);
  if (status && BigInt(status.last) < id) {
    throw new GradeFailure(
      `rule broken: a new primary holds every committed record. Replica ${primary} was elected with its log at record ${status.last}, and record ${id} was acknowledged (SENT {id: ${id}}) before the crash. ` +
        'Of the replicas that elected it, one holds that record; the election must pick the most complete log (spec: election).',
    );
  }
}

/** The replicas other than `primary` in the order a schedule gives them parts: the higher id last, most of the time. */
function parts(s: Schedule, cluster: Cluster, primary: number): number[] {
  const others = cluster.ids.filter((id) => id !== primary);
  return s.random.chance(0.75) ? others : s.random.shuffle(others);
}

export async function pairCrash(h: Harness, s: Schedule, start: StartCluster, options: Omit<ClusterOptions, 'size'> = {}): Promise<void> {
  const cluster = await start(h, 3, { ...options, dirPrefix: `s${s.number}-` });
  const points = cluster.points;
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['alice', 'inbox']);
  const [backup, other] = parts(s, cluster, primary) as [number, number];
  const atAnswer = s.random.chance(0.7);
  h.note(`schedule ${s.number}: replica ${other} down; replica ${backup} killed with the primary ${atAnswer ? 'the moment its APPENDED for the SEND reaches the proxy' : 'once the client has its SENT'}`);
  const alice = await loggedIn(h, cluster, primary, 'alice');
  const { last } = await cluster.waitCaughtUp();
  await cluster.kill(other);
  const k = BigInt(last + 1);
  let killed: Promise<void> | undefined;
  if (atAnswer) {
    // The kill's signal is sent synchronously, here, before the proxy passes the APPENDED on.
    points.on(`replica ${backup}'s APPENDED covering record ${k}, before the primary reads it: kill -9 replica ${backup}`, (m) => m.from === backup && m.to === primary && m.type === T6.APPENDED && (intAt(m.value, 'index') ?? 0n) >= k, () => void (killed = cluster.kill(backup)));
  }
  const op = trackedSend(cluster, alice, primary, `s${s.number}: acknowledged by one backup`);
  const id = await sentWithin(cluster, alice, op, primary, 15_000, `the SENT for a SEND that replica ${primary} and replica ${backup} hold`);
  if (id === undefined) throw new GradeFailure(`replica ${primary} gave no SENT within 15 s for a SEND with replica ${backup} up: the primary and one backup are a majority of three (spec: replication)`);
  await killed;
  await cluster.kill(primary, ...(atAnswer ? [] : [backup]));
  await cluster.restartAll([backup, other]);
  const next = await cluster.waitForPrimary({ what: `a primary among replicas ${backup} and ${other}, with replica ${primary} down` });
  newPrimaryHolds(cluster, next, id);
  await cluster.waitCaughtUp();
  await cluster.finish();
  survivorsHold(cluster, next, `Replica ${backup} answered APPENDED for it and was killed with the primary: an APPENDED promises that the records are on disk (synced), so a backup that answers, then crashes, still has them when it comes back.`);
}

export async function laggard(h: Harness, s: Schedule, start: StartCluster, options: Omit<ClusterOptions, 'size'> = {}): Promise<void> {
  const cluster = await start(h, 3, { ...options, dirPrefix: `s${s.number}-` });
  const points = cluster.points;
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['alice', 'inbox']);
  const [backup, behind] = parts(s, cluster, primary) as [number, number];
  h.note(`schedule ${s.number}: replica ${behind} left behind (the primary's messages to it held); replica ${backup} holds a SEND it does not, and the primary dies before it tells either the commit index`);
  const alice = await loggedIn(h, cluster, primary, 'alice');
  const { last } = await cluster.waitCaughtUp();
  cluster.proxy(primary, behind).hold();
  const k = BigInt(last + 1);
  // Once replica `backup` has answered for the record, the primary's next messages to it wait (not lost, until the kill resets them).
  points.on(`replica ${backup}'s APPENDED covering record ${k}: the primary's messages to it held`, (m) => m.from === backup && m.to === primary && m.type === T6.APPENDED && (intAt(m.value, 'index') ?? 0n) >= k, () => cluster.proxy(primary, backup).hold());
  const op = trackedSend(cluster, alice, primary, `s${s.number}: held by one backup`);
  const id = await sentWithin(cluster, alice, op, primary, 15_000, `the SENT for a SEND that replica ${primary} and replica ${backup} hold`);
  if (id === undefined) throw new GradeFailure(`replica ${primary} gave no SENT within 15 s for a SEND with replica ${backup} up: the primary and one backup are a majority of three (spec: replication)`);
  await cluster.kill(primary);
  // What the dead primary sent and the proxies held is lost with it.
  for (const id of [backup, behind]) cluster.proxy(primary, id).cut();
  cluster.healLinks([[primary, backup], [primary, behind]]);
  const next = await cluster.waitForPrimary({ what: `a primary among replicas ${backup} and ${behind}, with replica ${primary} down` });
  newPrimaryHolds(cluster, next, id);
  await cluster.waitCaughtUp();
  await cluster.finish();
  survivorsHold(cluster, next, `Replica ${backup} holds it and replica ${behind} does not: the election must pick the most complete log (the last index, and in lab 7 the last term first), whatever the ids or commit indexes.`);
}

export async function reconnect(h: Harness, s: Schedule, start: StartCluster, options: Omit<ClusterOptions, 'size'> = {}): Promise<void> {
  // A longer T: links are held for a few seconds (a restart, under load), less than T.
  const cluster = await start(h, 5, { ...options, timeoutMs: 6_000, dirPrefix: `s${s.number}-` });
  const points = cluster.points;
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['alice', 'inbox']);
  const [emptied, counted, ...down] = s.random.shuffle(cluster.ids.filter((id) => id !== primary)) as [number, number, ...number[]];
  h.note(`schedule ${s.number}: replicas ${down.join(' and ')} down, replica ${counted} left behind; replica ${emptied} holds a SEND with the primary, then restarts empty; replica ${counted} catches up`);
  const alice = await loggedIn(h, cluster, primary, 'alice');
  const { last } = await cluster.waitCaughtUp();
  await cluster.kill(...down);
  cluster.proxy(primary, counted).hold();
  const k = BigInt(last + 1);
  const held = points.on(`replica ${emptied}'s APPENDED covering record ${k}`, (m) => m.from === emptied && m.to === primary && m.type === T6.APPENDED && (intAt(m.value, 'index') ?? 0n) >= k);
  const op = trackedSend(cluster, alice, primary, `s${s.number}: two of five`);
  await held.reached(15_000);
  // Just after the primary reconnects to the emptied replica, its messages there wait.
  const reconnected = points.onAccept(primary, emptied, `replica ${primary} connected to replica ${emptied} again: its messages there held`, () => cluster.proxy(primary, emptied).hold());
  await cluster.restartEmpty(emptied);
  // Only a connection that opened again tells the primary that what it knew of the replica may be
  // stale (lab 6, section 5.1, rule 4); until then it may still count the old APPENDED.
  await reconnected.reached(15_000);
  cluster.healLinks([[primary, counted]]);
  const caughtUp = points.on(`replica ${counted}'s APPENDED covering record ${k}`, (m) => m.from === counted && m.to === primary && m.type === T6.APPENDED && (intAt(m.value, 'index') ?? 0n) >= k);
  await caughtUp.reached(15_000);
  // Three of five hold the record only if replica `emptied` counts, and it holds nothing: no SENT may come.
  await sentWithin(cluster, alice, op, primary, 800, `no SENT: replica ${primary} and replica ${counted} alone hold the record`);
  await cluster.kill(primary, counted);
  cluster.proxy(primary, emptied).cut();
  cluster.healLinks([[primary, emptied]]);
  await cluster.restartAll(down);
  const next = await cluster.waitForPrimary({ what: `a primary among replicas ${[emptied, ...down].join(', ')}` });
  const acked = cluster.history.ops.find((o) => o === op)?.id;
  if (acked !== undefined) newPrimaryHolds(cluster, next, acked);
  await cluster.waitCaughtUp();
  await cluster.finish();
  survivorsHold(cluster, next, `Replica ${emptied} had restarted with an empty directory: what the primary knew of it before (its match and next index) was stale from the moment it reconnected, and it held the record only with replica ${counted}, two of five.`);
}
