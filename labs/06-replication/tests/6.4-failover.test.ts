import { setTimeout as delay } from 'node:timers/promises';
import lab from '../lab.js';
import { GradeFailure, phase, type Harness, type Proc } from '../../../grader/harness/index.js';
import type { FaultProxy } from '../../../grader/harness/proxy.js';
import { expectGivesUp, readAll, type Msg } from '../../05-persistence/tests/durable.js';
import { MessageDecoder } from './wire.js';
import { Peer, T, Writer, loggedIn, loggedInAnyCount, makeAccounts, map, message, newCluster, show, type Cluster } from './replicated.js';

const test = phase(lab, '6.4');

/** Sends a SEND with (client, seq) and returns the id of its SENT. */
async function sendWithSeq(peer: Peer, text: string, client: bigint, seq: bigint, what: string): Promise<bigint> {
  const reply = await peer.call(T.SEND, map({ to: 'bob', text, client, seq }), T.SENT, what);
  const id = reply.get('id');
  if (typeof id !== 'bigint') throw new GradeFailure(`${peer.name} got SENT ${show(reply)}; it must be {id: int}`);
  return id;
}

/**
 * The lab's client, with the replicas listed in `order`, each reached through a proxy of its own
 * so that the grader can hold, cut or close the client's link to one of them.
 */
async function clientThroughProxies(h: Harness, cluster: Cluster, order: number[]): Promise<{ client: Proc; proxies: Map<number, FaultProxy> }> {
  const proxies = new Map<number, FaultProxy>();
  for (const id of cluster.ids) proxies.set(id, await h.proxy(cluster.member(id).port));
  const replicas = order.map((id) => `${id}=127.0.0.1:${proxies.get(id)!.port}`).join(',');
  return { client: await h.start('client', { params: { replicas } }), proxies };
}

/** bob's messages, read on replica `id` (and so delivered): each text must be there exactly once. */
async function expectOnce(h: Harness, cluster: Cluster, id: number, texts: string[], why: string): Promise<Msg[]> {
  const bob = await loggedInAnyCount(h, cluster, id, 'bob');
  const got = await readAll(bob);
  for (const text of texts) {
    const copies = got.filter((m) => m.text === text);
    if (copies.length !== 1) {
      throw new GradeFailure(`bob must have ${JSON.stringify(text)} exactly once; he has it ${copies.length} times${copies.length ? ` (ids ${copies.map((m) => m.id).join(', ')})` : ''}. ${why}`);
    }
  }
  bob.conn.end();
  return got;
}

test('a SEND sent again with the same client and seq is applied once, and gets the same id', { points: 4 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['alice', 'bob', 'carol']);
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
  // The table answers first, even when the recipient is gone since: a SEND to carol, then carol
  // deletes her account, then the same SEND again gets the id it had (it was applied; its SENT
  // may have been lost).
  const toCarol = (await alice2.call(T.SEND, map({ to: 'carol', text: 'before carol left', client, seq: 67n }), T.SENT, 'SENT for seq 67, to carol')).get('id');
  const carol = await loggedInAnyCount(h, cluster, primary, 'carol');
  carol.send(T.DELETE_ACCOUNT, map());
  await carol.expectReply(T.ACCOUNT_DELETED, map(), 'ACCOUNT_DELETED for carol');
  alice2.send(T.SEND, map({ to: 'carol', text: 'before carol left', client, seq: 67n }));
  const retried = await alice2.readReply('the answer to SEND (seq 67) to carol sent again after carol deleted her account');
  const retriedId = retried.type === BigInt(T.SENT) ? (alice2.decode(retried, 'SENT') as Map<string, unknown>).get('id') : undefined;
  if (retriedId !== toCarol) {
    throw new GradeFailure(`SEND (client ${client}, seq 67) to carol got SENT {id: ${toCarol}}; after carol deleted her account, the same SEND sent again got ${alice2.describe(retried)}. A SEND whose (client, seq) is in the table was applied already: the answer is SENT with the id it had, whatever happened to its recipient since (spec section 8)`);
  }
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

test('grader clients send what is unacknowledged again after the primary is killed: every SEND applied once', { points: 3 }, async (h) => {
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

test("the lab's client follows the primary, sends a SEND in flight again, and keeps trying while every replica is down: each message once", { points: 4 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['alice', 'bob', 'carol']);
  // A backup first: the client must follow its not-primary answer.
  const order = [...cluster.ids.filter((id) => id !== primary), primary];
  const { client, proxies } = await clientThroughProxies(h, cluster, order);
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

  // Every replica down for 6 s, with a line typed: each client keeps trying round its list (rule
  // 3: for up to 30 s), and once a primary is back it logs in again and sends the line. A second
  // client has the replicas' own ports, not proxies, so that its attempts are refused, as they
  // are when a server is down (a proxy accepts, then resets).
  const direct = await h.start('client', { name: 'client (no proxies)', params: { replicas: cluster.ids.map((id) => `${id}=127.0.0.1:${cluster.member(id).port}`).join(',') } });
  direct.send('login carol pw-carol\n');
  await direct.expectNextLine(/^logged in as carol, \d+ waiting$/, { what: '"logged in as carol, N waiting"', timeoutMs: 10_000 });
  await cluster.kill(...cluster.ids.filter((id) => id !== primary));
  client.send('send bob four\n');
  direct.send('send bob five\n');
  await delay(6_000);
  for (const c of [client, direct]) {
    if (c.exit) throw new GradeFailure(`with every replica down for 6 s, ${c.name} exited (${c.exit.signal ?? `status ${c.exit.code}`}): it must keep trying the replicas of its list, one at least every 500 ms, for up to 30 s (spec section 8, rule 3)`);
  }
  await cluster.restartAll();
  const back = await cluster.waitForPrimary({ what: 'a primary once every replica is back on its directory' });
  for (const [c, name] of [[client, 'alice'], [direct, 'carol']] as const) {
    await c.expectNextLines([`logged in as ${name}, 0 waiting`, '0 more waiting', /^sent message \d+$/], {
      what: `${c.name}'s lines once it reached replica ${back}, the primary after every replica was down for 6 s: it logs in again, reads what waits, and sends the line typed meanwhile (spec section 8, rule 3)`,
      timeoutMs: cluster.baseTimeoutMs + 30_000,
    });
  }
  direct.send('quit\n');
  await direct.expectExit(0, { what: 'to exit with status 0 after quit' });
  await expectOnce(h, cluster, back, ['one', 'two', 'three', 'four', 'five'],
    'The client sends a SEND that got no SENT again with the same client and seq, and the replicas apply it once (spec section 8).');
  client.send('quit\n');
  await client.expectExit(0, { what: 'to exit with status 0 after quit' });
  await cluster.waitCaughtUp();
  await cluster.finish();
});

// A hundred SENDs typed at once, their SENTs held: the client keeps at most 64 unacknowledged
// (rule 5) and sends the rest as SENTs come. The primary dies with all 64 committed and none
// answered, and three more lines are typed while the client has no primary. On the new one, the
// spec's order (rule 3): LOGIN, READ, the 64 again with the same seqs (each gets the id it had),
// the 36 that waited, then the three. So the sent message lines come in the order typed, with
// ids rising, and bob has every message once, in that order.
test("the lab's client with a hundred SENDs typed at once: at most 64 unacknowledged, all sent again in order after a failover, each once", { points: 4 }, async (h) => {
  const cluster = await newCluster(h, 3);
  const primary = await cluster.waitForPrimary();
  await makeAccounts(h, cluster, primary, ['alice', 'bob']);
  // The primary first, then the backups in ascending id. Both backups will hold the whole log when
  // the primary dies, so the higher id wins (section 7) and the client, moving on to the lower one,
  // meets not-primary with all 64 SENDs in flight again.
  const { client, proxies } = await clientThroughProxies(h, cluster, [primary, ...cluster.ids.filter((id) => id !== primary).sort((a, b) => a - b)]);
  client.send('login alice pw-alice\n');
  await client.expectNextLine('logged in as alice, 0 waiting', { what: '"logged in as alice, 0 waiting"', timeoutMs: 10_000 });

  const link = proxies.get(primary)!;
  const decoder = new MessageDecoder();
  let sends = 0;
  const tap = link.tap;
  link.tap = (direction, chunk) => {
    tap?.(direction, chunk);
    if (direction === 'forward') for (const m of decoder.push(chunk)) if (m.type === T.SEND) sends++;
  };
  link.hold('backward');
  h.note(`the primary's answers to the client are held from now on`);
  const before = (await cluster.until((round) => round.states.get(primary), { timeoutMs: 5_000, what: `a STATUS from replica ${primary}` })).last;
  const burst = Array.from({ length: 100 }, (_, i) => `burst ${String(i + 1).padStart(3, '0')}`);
  client.send(burst.map((text) => `send bob ${text}\n`).join(''));
  await cluster.until((round) => ((round.states.get(primary)?.commit ?? 0) >= before + 64 ? true : undefined), {
    timeoutMs: 15_000,
    what: `the primary, replica ${primary}, to commit 64 of the 100 SENDs typed at once (it committed ${sends < 64 ? `what came: the client sent ${sends} SENDs` : 'fewer'})`,
  });
  if (sends > 64) {
    throw new GradeFailure(`with no SENT back, the client sent ${sends} SENDs of the 100 typed at once: a client whose 64 SENDs wait for their SENT sends nothing more until one comes (spec section 8, rule 5), because the replicas remember the last 64 seqs of each client and a retried older one is refused`);
  }
  await cluster.waitCaughtUp();
  h.note(`the client sent 64 SENDs and waits; the primary committed them, every replica holds them, and the primary is killed with their SENTs unsent`);
  await cluster.kill(primary);
  // Its proxy closes too, so that the client's attempts to reach it are refused, as a dead
  // server's are (a proxy would accept them and reset them, a connection the client then loses).
  await link.close();
  const late = ['late 1', 'late 2', 'late 3'];
  client.send(late.map((text) => `send bob ${text}\n`).join(''));
  const next = await cluster.waitForPrimary({ what: `a new primary after replica ${primary} was killed` });
  const texts = [...burst, ...late];
  const lines = await client.expectNextLines(['logged in as alice, 0 waiting', '0 more waiting', ...texts.map(() => /^sent message \d+$/)], {
    what: `the client's lines once it reached replica ${next}, the new primary: it logs in again, reads what waits, then sends again the 64 SENDs in flight, then the 36 that waited, then the 3 typed meanwhile (spec section 8, rules 3 and 5)`,
    timeoutMs: cluster.baseTimeoutMs + 30_000,
  });
  const ids = lines.slice(2).map((line) => BigInt(line.split(' ')[2]!));
  for (let i = 1; i < ids.length; i++) {
    if (ids[i]! <= ids[i - 1]!) {
      throw new GradeFailure(`sent message lines ${i} and ${i + 1} are "sent message ${ids[i - 1]}" (for "send bob ${texts[i - 1]}") and "sent message ${ids[i]}" (for "send bob ${texts[i]}"): after a reconnection the SENDs in flight go again first, in order, then those that waited, then the lines typed meanwhile (spec section 8, rule 3), so each SEND is applied in the order typed and the lines come with rising ids`);
    }
  }
  const got = await expectOnce(h, cluster, next, texts, 'Each SEND typed is applied once, whichever replica answered it (spec section 8).');
  const inLog = got.map((m) => m.text).filter((text) => texts.includes(text));
  const wrong = inLog.findIndex((text, i) => text !== texts[i]);
  if (wrong >= 0) throw new GradeFailure(`bob's messages from alice are not in the order she typed them: message ${wrong + 1} is "${inLog[wrong]}", not "${texts[wrong]}" (spec section 8, rule 3)`);
  client.send('quit\n');
  await client.expectExit(0, { what: 'to exit with status 0 after quit' });
  await cluster.restart(primary);
  await cluster.waitCaughtUp();
  await cluster.finish();
});

test("the lab's client with every replica away tries for 30 s, then gives up with status 1", { points: 2, timeoutMs: 120_000 }, async (h) => {
  // Three fake replicas, which the grader plays; the first one is the primary until they all go.
  const fakes = [await h.fakeServer(), await h.fakeServer(), await h.fakeServer()];
  const client = await h.start('client', { params: { replicas: fakes.map((f, i) => `${i + 1}=127.0.0.1:${f.port}`).join(',') } });
  const link = new Peer(await fakes[0]!.accept({ from: client, what: 'the client to connect to the first replica of its list' }), h);
  client.send('login bob pw\n');
  await link.expectFrame(T.LOGIN, map({ name: 'bob', password: 'pw' }), 'the LOGIN request for "login bob pw"');
  link.conn.send(message(T.LOGGED_IN, map({ name: 'bob', waiting: 0n })));
  await client.expectNextLine('logged in as bob, 0 waiting');
  // Every replica away for good, each attempt refused as a dead server's is (the ports stay the
  // grader's). The client goes round its list for 30 s from the drop, which it sees after this.
  for (const fake of fakes) await fake.away();
  await expectGivesUp(client, Date.now(), 'every replica', 'trying round its list', 'spec section 8, rule 3');
});
