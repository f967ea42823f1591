import lab from '../lab.js';
import { GradeFailure, phase, type Harness } from '../../../grader/harness/index.js';
import { readAll } from '../../05-persistence/tests/durable.js';
import { MessageDecoder } from './wire.js';
import { Peer, T, Writer, loggedIn, loggedInAnyCount, makeAccounts, map, newCluster, show, type Cluster } from './replicated.js';

const test = phase(lab, '6.4');

/** Sends a SEND with (client, seq) and returns the id of its SENT. */
async function sendWithSeq(peer: Peer, text: string, client: bigint, seq: bigint, what: string): Promise<bigint> {
  const reply = await peer.call(T.SEND, map({ to: 'bob', text, client, seq }), T.SENT, what);
  const id = reply.get('id');
  if (typeof id !== 'bigint') throw new GradeFailure(`${peer.name} got SENT ${show(reply)}; it must be {id: int}`);
  return id;
}

/** bob's messages, read on replica `id`; each text must be there exactly `times` times. */
async function expectOnce(h: Harness, cluster: Cluster, id: number, texts: string[], why: string): Promise<void> {
  const bob = await loggedInAnyCount(h, cluster, id, 'bob');
  const got = await readAll(bob);
  for (const text of texts) {
    const copies = got.filter((m) => m.text === text);
    if (copies.length !== 1) {
      throw new GradeFailure(`bob must have ${JSON.stringify(text)} exactly once; he has it ${copies.length} times${copies.length ? ` (ids ${copies.map((m) => m.id).join(', ')})` : ''}. ${why}`);
    }
  }
  bob.conn.end();
}

test('a SEND sent again with the same client and seq is applied once, and gets the same id', { points: 5 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['alice', 'bob']);
  const client = BigInt(h.random.int(1, 2 ** 30));
  const alice = await loggedIn(h, cluster, primary, 'alice');
  const first = await sendWithSeq(alice, 'once only', client, 1n, 'SENT for client seq 1');
  const again = await sendWithSeq(alice, 'once only', client, 1n, 'SENT for the same (client, seq) sent again');
  if (again !== first) throw new GradeFailure(`SEND (client ${client}, seq 1) got SENT {id: ${first}}; sent again, it got {id: ${again}}: a SEND seen before gets the id it had and is not applied again (spec section 8)`);
  // On another connection too: the table is the state's, not the connection's.
  alice.send(T.LOGOUT, map());
  await alice.expectReply(T.LOGGED_OUT, map(), 'LOGGED_OUT');
  const alice2 = await loggedIn(h, cluster, primary, 'alice');
  const third = await sendWithSeq(alice2, 'once only', client, 1n, 'SENT for the same (client, seq) on a new connection');
  if (third !== first) throw new GradeFailure(`the same SEND (client ${client}, seq 1) sent on a new connection got id ${third}, not ${first}: the replicas remember it in their state (spec section 8)`);
  const other = await sendWithSeq(alice2, 'a second message', client, 2n, 'SENT for seq 2');
  if (other <= first) throw new GradeFailure(`seq 2 got id ${other}, not above ${first}`);
  await expectOnce(h, cluster, primary, ['once only', 'a second message'], 'A SEND with a (client, seq) seen before appends nothing (spec section 8).');
  // Older than any client may retry: 64 SENDs are remembered per client.
  for (let seq = 3n; seq <= 66n; seq++) await sendWithSeq(alice2, `filler ${seq}`, client, seq, `SENT for seq ${seq}`);
  alice2.send(T.SEND, map({ to: 'bob', text: 'far too old', client, seq: 1n }));
  await alice2.expectError('bad-request', 'ERROR bad-request for seq 1 after 66 SENDs: older than the 64 a client may retry (spec section 8)');
  await cluster.finish();
});

test('a SEND acknowledged, then sent again after a failover, is applied once', { points: 3 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const old = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, old, ['alice', 'bob']);
  const client = BigInt(h.random.int(1, 2 ** 30));
  const alice = await loggedIn(h, cluster, old, 'alice');
  const id = await sendWithSeq(alice, 'before the failover', client, 1n, 'SENT for seq 1');
  await cluster.kill(old);
  const primary = await cluster.waitForPrimary({ what: `a new primary after replica ${old} was killed` });
  const alice2 = await loggedIn(h, cluster, primary, 'alice');
  const again = await sendWithSeq(alice2, 'before the failover', client, 1n, `SENT from replica ${primary} for the SEND sent again`);
  if (again !== id) throw new GradeFailure(`replica ${old} acknowledged SEND (client ${client}, seq 1) with id ${id}; sent again to replica ${primary}, the new primary, it got id ${again}. The table of (client, seq) is replicated state: the MESSAGE_SENT record holds them (spec section 8)`);
  await expectOnce(h, cluster, primary, ['before the failover'], 'A retried SEND is applied once on every replica (spec section 8).');
  await cluster.restart(old);
  await cluster.waitCaughtUp();
  await cluster.finish();
});

test('grader clients send what is unacknowledged again after the primary is killed: every SEND applied once', { points: 4 }, async (h) => {
  const cluster = await newCluster(h, 3);
  let primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['w1', 'w2', 'w3', 'inbox']);
  const writers = ['w1', 'w2', 'w3'].map((name) => new Writer(h, cluster, name, { to: 'inbox', window: h.random.int(2, 6), paceMs: 5, resend: true }));
  for (const writer of writers) writer.start();
  await Promise.all(writers.map((w) => w.progress(5, 'before the kill')));
  const old = primary;
  await cluster.kill(old);
  primary = await cluster.waitForPrimary({ what: `a new primary after replica ${old} was killed` });
  await Promise.all(writers.map((w) => w.progress(5, `on replica ${primary}, the new primary`)));
  await Promise.all(writers.map((w) => w.stop()));
  await cluster.restart(old);
  await cluster.waitCaughtUp();
  await cluster.finish();
});

test("the lab's client follows the primary, and sends a SEND in flight again: each message once", { points: 8 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['alice', 'bob']);
  // The client reaches each replica through a proxy of its own, so that the grader can hold a link.
  const proxies = new Map<number, Awaited<ReturnType<Harness['proxy']>>>();
  for (const id of cluster.ids) proxies.set(id, await h.proxy(cluster.member(id).port));
  // A backup first: the client must follow its not-primary answer.
  const order = [...cluster.ids.filter((id) => id !== primary), primary];
  const replicas = order.map((id) => `${id}=127.0.0.1:${proxies.get(id)!.port}`).join(',');
  const client = await h.start('client', { params: { replicas } });
  client.send('login alice pw-alice\n');
  await client.expectNextLine('logged in as alice, 0 waiting', { what: `"logged in as alice, 0 waiting": the client first reaches replica ${order[0]}, a backup, whose not-primary answer names replica ${primary} (spec section 8, rule 2)`, timeoutMs: 10_000 });
  client.send('send bob one\n');
  const one = await client.expectNextLine(/^sent message \d+$/, { what: 'sent message ID for "send bob one"' });

  // The SEND reaches the primary and is committed, but its SENT never gets back: the grader holds
  // the client's link to the primary from the moment the SEND has passed, kills the primary once it
  // has committed the message, then cuts the link.
  const link = proxies.get(primary)!;
  const decoder = new MessageDecoder();
  const tap = link.tap;
  let passed = false;
  link.tap = (direction, chunk) => {
    tap?.(direction, chunk);
    if (direction !== 'forward' || passed) return;
    for (const m of decoder.push(chunk)) {
      if (m.type === T.SEND && m.value instanceof Map && m.value.get('text') === 'two') {
        passed = true;
        link.hold();
      }
    }
  };
  const before = (await cluster.until((round) => round.states.get(primary), { timeoutMs: 5_000, what: `a STATUS from replica ${primary}` })).last;
  client.send('send bob two\n');
  await cluster.until((round) => ((round.states.get(primary)?.commit ?? 0) > before ? true : undefined), { timeoutMs: 10_000, what: `the primary, replica ${primary}, to commit the SEND for "send bob two"` });
  if (!passed) throw new GradeFailure('the client sent no SEND {text: "two"} for "send bob two"');
  h.note('the SEND for "send bob two" reached the primary and is committed; its SENT is held in the proxy, and the primary is killed');
  await cluster.kill(primary);
  link.cut();
  link.heal();
  const next = await cluster.waitForPrimary({ what: `a new primary after replica ${primary} was killed` });
  const lines = await client.expectNextLines(['logged in as alice, 0 waiting', '0 more waiting', /^sent message \d+$/], {
    what: `the client's lines once it reached replica ${next}, the new primary: it logs in again, reads what waits, and sends again the SEND that got no SENT, with the same seq (spec section 8, rule 3)`,
    timeoutMs: cluster.baseTimeoutMs + 30_000,
  });
  const two = lines[2]!;
  if (two === one) throw new GradeFailure(`"send bob one" and "send bob two" both got "${one}"`);
  client.send('send bob three\n');
  await client.expectNextLine(/^sent message \d+$/, { what: 'sent message ID for "send bob three", typed after the failover' });
  await expectOnce(h, cluster, next, ['one', 'two', 'three'],
    'The client sends a SEND that got no SENT again with the same client and seq, and the replicas apply it once (spec section 8).');
  client.send('quit\n');
  await client.expectExit(0, { what: 'to exit with status 0 after quit' });
  await cluster.restart(primary);
  await cluster.waitCaughtUp();
  await cluster.finish();
});
