// Steps lab 6's tests share: a cluster (grader/replication, shared with lab 7), accounts made on
// its primary, connections to one replica, and the checks of a not-primary answer. The chat
// protocol is lab 3's, spoken with lab 3's grader codec; lab 6's additions are in wire.ts.
import type { Harness, Proc } from '../../../grader/harness/index.js';
import { GradeFailure } from '../../../grader/harness/index.js';
import { Cluster, type ClusterOptions } from '../../../grader/replication/cluster.js';
import { Peer, createAccount, login, sendMessage } from '../../03-protocol/tests/peer.js';
import { expectUnwrittenWaiting, pushPastTheKernel } from '../../05-persistence/tests/durable.js';
import { T, T6, map, parseStatus, show, type Status } from './wire.js';

export { Cluster } from '../../../grader/replication/cluster.js';
export { Writer } from '../../../grader/replication/writer.js';
export { Peer, createAccount, login, sendMessage } from '../../03-protocol/tests/peer.js';
export { T, T6, map, message, show } from './wire.js';

export async function newCluster(h: Harness, size: number, options: Omit<ClusterOptions, 'size'> = {}): Promise<Cluster> {
  return Cluster.start(h, { size, ...options });
}

/** A connection to replica `id` (its own port, not a proxy). */
export async function peerOn(h: Harness, cluster: Cluster, id: number, name: string): Promise<Peer> {
  const proc = cluster.member(id).proc;
  if (!proc) throw new Error(`replica ${id} was never started`);
  return Peer.connect(h, proc, { name });
}

/**
 * Creates these accounts on the primary, one request at a time (a password hash takes tens of
 * milliseconds, and a primary hashing a hundred at once would delay its heartbeats: spec section 6).
 * Their passwords are "pw-NAME".
 */
export async function makeAccounts(h: Harness, cluster: Cluster, primary: number, names: string[]): Promise<void> {
  const setup = await peerOn(h, cluster, primary, 'setup');
  for (const name of names) await createAccount(setup, name);
  setup.conn.end();
}

/** A connection to the primary, logged in as `name` (an existing account). */
export async function loggedIn(h: Harness, cluster: Cluster, primary: number, name: string): Promise<Peer> {
  const peer = await peerOn(h, cluster, primary, name);
  await login(peer, name);
  return peer;
}

/** A connection to replica `id`, logged in as `name`, however many messages wait for it. */
export async function loggedInAnyCount(h: Harness, cluster: Cluster, id: number, name: string): Promise<Peer> {
  const peer = await peerOn(h, cluster, id, name);
  peer.send(T.LOGIN, map({ name, password: `pw-${name}` }));
  const frame = await peer.readReply(`LOGGED_IN for ${name}`);
  if (frame.type !== BigInt(T.LOGGED_IN)) throw new GradeFailure(`${name} could not log in on replica ${id}: ${peer.describe(frame)}`);
  return peer;
}

/**
 * Requires `frame`'s payload to be a not-primary error naming `primary` at `address`, with exactly
 * the keys spec section 3.1 gives it.
 */
export function expectNotPrimary(peer: Peer, value: unknown, primary: number | undefined, address: string | undefined, what: string): void {
  const fields = value instanceof Map ? [...value.keys()].sort().join(', ') : '';
  const want = primary === undefined ? 'code, message' : 'address, code, message, primary';
  if (!(value instanceof Map) || value.get('code') !== 'not-primary') throw new GradeFailure(`${peer.name} expected ${what}: ERROR {code: "not-primary", ...}; got ${show(value as never)}`);
  if (fields !== want) throw new GradeFailure(`${peer.name} got ${show(value)} for ${what}: a not-primary error holds exactly {${want}} (spec section 3.1)`);
  if (primary !== undefined && value.get('primary') !== BigInt(primary)) throw new GradeFailure(`${peer.name} got ${show(value)} for ${what}: "primary" must be ${primary}, the primary it follows`);
  if (address !== undefined && value.get('address') !== address) {
    throw new GradeFailure(`${peer.name} got ${show(value)} for ${what}: "address" must be ${JSON.stringify(address)}, replica ${primary}'s HOST:PORT as its --peers gives it (spec section 3.1)`);
  }
}

/** Sends `type` `payload` and returns the reply's payload, which must be an ERROR. */
export async function expectErrorReply(peer: Peer, type: number, payload: ReturnType<typeof map>, what: string): Promise<unknown> {
  peer.send(type, payload);
  const frame = await peer.readReply(what);
  if (frame.type !== BigInt(T.ERROR)) throw new GradeFailure(`${peer.name} expected ${what} and got ${peer.describe(frame)}`);
  return peer.decode(frame, what);
}

/** One REPLICA_STATE of `proc`, on `peer` (a connection kept for polling) or on a connection of its own. */
export async function statusOf(h: Harness, proc: Proc, peer?: Peer): Promise<Status> {
  const conn = peer ?? (await Peer.connect(h, proc, { name: `STATUS of ${proc.name}` }));
  conn.send(T6.STATUS, map());
  const value = conn.decode(await conn.readReply(`REPLICA_STATE from ${proc.name}`), 'REPLICA_STATE');
  if (!peer) conn.conn.destroy();
  const status = parseStatus(value);
  if (typeof status === 'string') throw new GradeFailure(`${proc.name} answered STATUS wrongly: ${status} (spec section 3.1)`);
  return status;
}

/**
 * Spec section 2: HOST is a name or an address, and a replica MUST NOT assume that its peers are on
 * its own machine. The proxies listen on 127.0.0.2 (loopback still, which Linux answers on without
 * setup), so a replica that dials 127.0.0.1 whatever --peers says reaches none of its peers.
 */
export async function expectPeersByHost(h: Harness, start: (h: Harness, size: number, options: { peerHost: string }) => Promise<Cluster>): Promise<void> {
  if (process.platform !== 'linux') return h.note('not judged here: only Linux answers on 127.0.0.2 without setting it up');
  const cluster = await start(h, 3, { peerHost: '127.0.0.2' });
  try {
    const primary = await cluster.waitForPrimary();
    await makeAccounts(h, cluster, primary, ['alice', 'bob']);
    await sendMessage(await loggedIn(h, cluster, primary, 'alice'), 'bob', 'through 127.0.0.2');
  } catch (error) {
    if (!(error instanceof GradeFailure)) throw error;
    throw new GradeFailure(`${error.message}. Here every --peers entry names host 127.0.0.2 (another loopback address): a replica that dials 127.0.0.1, or its own host, whatever its list says, reaches none of its peers (spec/06-replication.md section 2: HOST is a name or an address, and peers may be on other machines)`);
  }
  await cluster.finish();
}

/**
 * Lab 5's delivery rule on a primary (spec/05-persistence.md section 7, which section 5.1 keeps):
 * a push it still held in its own buffer when the connection reset, behind a client that stopped
 * reading, was never written, and waits (Linux: /proc/net/tcp says what the kernel held).
 */
export async function expectHeldPushesWait(h: Harness, start: (h: Harness, size: number) => Promise<Cluster>): Promise<void> {
  const cluster = await start(h, 3);
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['alice', 'bob']);
  const alice = await loggedIn(h, cluster, primary, 'alice');
  const bob = await loggedIn(h, cluster, primary, 'bob');
  const sent = await pushPastTheKernel(h, bob, (text) => sendMessage(alice, 'bob', text));
  await expectUnwrittenWaiting(await loggedInAnyCount(h, cluster, primary, 'bob'), sent, 'spec/05-persistence.md section 7, which spec/06-replication.md section 5.1 keeps');
  await cluster.finish();
}
