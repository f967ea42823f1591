import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import { Peer, createAccount, expectRead, login, sendMessage, user } from './peer.js';
import { T, map, show, type Value } from './wire.js';

const test = phase(lab, '3.4');

interface Msg {
  from: string;
  id: bigint;
  text: string;
}

test('a message to a logged-in recipient is pushed, and not also queued', { points: 3 }, async (h) => {
  const server = await h.start();
  const alice = await user(h, server, 'alice');
  const bob = await user(h, server, 'bob');
  const id = await sendMessage(alice, 'bob', 'hello bob');
  await bob.expectPush({ from: 'alice', id, text: 'hello bob' }, 'the MESSAGE pushed to bob, who is logged in');
  await expectRead(bob, 10, [], 0, 'an empty MESSAGES: the pushed message was delivered, so it must not wait as well');
  // To oneself: the same rules, and the push comes before the SENT reply (section 5.6).
  alice.send(T.SEND, map({ to: 'alice', text: 'note to self' }));
  const first = await alice.readFrame('the MESSAGE alice sent herself, then the SENT reply');
  if (first.type !== BigInt(T.MESSAGE)) {
    throw new GradeFailure(`alice sent a message to herself, logged in with nothing waiting: its MESSAGE push must come first and the SENT reply after it (section 5.6); the first frame was ${alice.describe(first)}`);
  }
  const note = (alice.decode(first, 'the MESSAGE alice sent herself') as Map<string, Value>).get('id');
  if (typeof note !== 'bigint') throw new GradeFailure(`the MESSAGE alice sent herself has no int id: ${alice.describe(first)}`);
  alice.pushes.push(first);
  await alice.expectReply(T.SENT, map({ id: note }), `SENT {id: ${note}}, after the push of the same message`);
  await alice.expectPush({ from: 'alice', id: note, text: 'note to self' }, 'the MESSAGE alice sent herself');
  await expectRead(alice, 10, [], 0, 'an empty MESSAGES for alice after her own message was pushed');
});

test('a message to an offline recipient waits until it is read, once', { points: 3 }, async (h) => {
  const server = await h.start();
  const alice = await user(h, server, 'alice');
  await createAccount(alice, 'bob');
  const m1 = { from: 'alice', id: await sendMessage(alice, 'bob', 'one'), text: 'one' };
  const m2 = { from: 'alice', id: await sendMessage(alice, 'bob', 'two, with ünïcödé ✓'), text: 'two, with ünïcödé ✓' };
  if (m2.id <= m1.id) throw new GradeFailure(`the second message got id ${m2.id}, not larger than the first's ${m1.id}: ids must increase`);
  const bob = await Peer.connect(h, server, { name: 'bob' });
  await login(bob, 'bob', 2);
  await bob.expectNoPush('messages waiting at login are read with READ, not pushed');
  await expectRead(bob, 10, [m1, m2], 0, 'MESSAGES with both waiting messages, oldest first');
  await expectRead(bob, 10, [], 0, 'an empty MESSAGES: a message is read once');
  // Logged out again: messages wait again.
  bob.send(T.LOGOUT, map());
  await bob.expectReply(T.LOGGED_OUT, map(), 'LOGGED_OUT');
  const m3 = { from: 'alice', id: await sendMessage(alice, 'bob', 'three'), text: 'three' };
  await login(bob, 'bob', 1);
  await expectRead(bob, 10, [m3], 0, 'MESSAGES with the message sent while bob was logged out');
  // A closed connection is logged out too.
  bob.conn.end();
  await bob.conn.expectClosed({ what: 'the server to close bob\'s connection after bob closed it' });
  const m4 = { from: 'alice', id: await sendMessage(alice, 'bob', 'four'), text: 'four' };
  const again = await Peer.connect(h, server, { name: 'bob again' });
  await login(again, 'bob', 1);
  await expectRead(again, 10, [m4], 0, 'MESSAGES with the message sent after bob\'s connection closed');
});

test('read with a limit', { points: 2 }, async (h) => {
  const server = await h.start();
  const alice = await user(h, server, 'alice');
  await createAccount(alice, 'bob');
  const sent: Msg[] = [];
  for (let i = 1; i <= 5; i++) sent.push({ from: 'alice', id: await sendMessage(alice, 'bob', `message ${i}`), text: `message ${i}` });
  const bob = await Peer.connect(h, server, { name: 'bob' });
  await login(bob, 'bob', 5);
  await expectRead(bob, 2, sent.slice(0, 2), 3, 'MESSAGES with the 2 oldest of 5, and 3 remaining');
  await expectRead(bob, 2, sent.slice(2, 4), 1, 'MESSAGES with the next 2, and 1 remaining');
  await expectRead(bob, 2, sent.slice(4), 0, 'MESSAGES with the last one, and 0 remaining');
});

test('new messages queue behind waiting ones, so order is kept', { points: 3 }, async (h) => {
  const server = await h.start();
  const alice = await user(h, server, 'alice');
  const carol = await user(h, server, 'carol');
  await createAccount(alice, 'bob');
  const m1 = { from: 'alice', id: await sendMessage(alice, 'bob', 'first'), text: 'first' };
  const m2 = { from: 'alice', id: await sendMessage(alice, 'bob', 'second'), text: 'second' };
  const bob = await Peer.connect(h, server, { name: 'bob' });
  await login(bob, 'bob', 2);
  // bob is logged in, but older messages wait: pushing these would overtake them.
  const m3 = { from: 'alice', id: await sendMessage(alice, 'bob', 'third'), text: 'third' };
  const m4 = { from: 'carol', id: await sendMessage(carol, 'bob', 'fourth'), text: 'fourth' };
  await bob.expectNoPush('bob still had older messages waiting, so new ones must queue behind them');
  await expectRead(bob, 1, [m1], 3, 'MESSAGES with the oldest of four, and 3 remaining');
  // A READ that leaves messages waiting does not end the queueing.
  const m5 = { from: 'carol', id: await sendMessage(carol, 'bob', 'fifth'), text: 'fifth' };
  await bob.expectNoPush('bob has read one message but three still wait, so a new one queues behind them');
  await expectRead(bob, 10, [m2, m3, m4, m5], 0, 'MESSAGES with the other four, in the order they were sent');
  // The queue is empty now: the next one is pushed.
  const m6 = { from: 'alice', id: await sendMessage(alice, 'bob', 'sixth'), text: 'sixth' };
  await bob.expectPush(m6, 'the MESSAGE pushed once bob\'s queue was empty');
});

test('a sender deletes messages that still wait', { points: 2 }, async (h) => {
  const server = await h.start();
  const alice = await user(h, server, 'alice');
  const carol = await user(h, server, 'carol');
  await createAccount(alice, 'bob');
  const m1 = await sendMessage(alice, 'bob', 'one');
  const m2 = await sendMessage(alice, 'bob', 'two');
  const m3 = await sendMessage(alice, 'carol', 'pushed to carol');
  await carol.expectPush({ from: 'alice', id: m3, text: 'pushed to carol' }, 'the MESSAGE pushed to carol');
  const m4 = await sendMessage(alice, 'bob', 'three');
  const c1 = await sendMessage(carol, 'bob', 'from carol');
  // m3 was delivered, 999999 was never used, c1 is carol's, m1 is listed twice: only m1 and m4 go.
  alice.send(T.DELETE_MESSAGES, map({ ids: [m4, m3, 999_999n, m1, c1, m1] }));
  await alice.expectReply(T.DELETED, map({ ids: [m1, m4] }), `DELETED {ids: [${m1}, ${m4}]}: alice's waiting messages among those listed, ascending`);
  carol.send(T.DELETE_MESSAGES, map({ ids: [m2] }));
  await carol.expectReply(T.DELETED, map({ ids: [] }), 'DELETED {ids: []}: carol cannot delete alice\'s message');
  const bob = await Peer.connect(h, server, { name: 'bob' });
  await login(bob, 'bob', 2);
  await expectRead(bob, 10, [{ from: 'alice', id: m2, text: 'two' }, { from: 'carol', id: c1, text: 'from carol' }], 0, 'MESSAGES without the deleted ones');
});

test('requests act for the logged-in account only; a new account of the same name is someone else', { points: 1 }, async (h) => {
  const server = await h.start();
  const alice = await user(h, server, 'alice');
  const bob = await user(h, server, 'bob');
  await createAccount(alice, 'carol');
  // Keys that name another account are keys the spec does not list for these requests: ignored (section 7).
  const reply = await alice.call(T.SEND, map({ to: 'bob', text: 'who sent this?', from: 'carol' }), T.SENT, 'SENT for a SEND that also holds the key from: "carol"');
  await bob.expectPush({ from: 'alice', id: reply.get('id') as bigint, text: 'who sent this?' }, 'the MESSAGE from alice: a SEND acts for the logged-in account, whatever its "from" key says (sections 5.6 and 7)');
  const forCarol = await sendMessage(bob, 'carol', 'for carol only');
  alice.send(T.READ, map({ limit: 10n, name: 'carol' }));
  await alice.expectReply(T.MESSAGES, map({ messages: [], remaining: 0n }), 'an empty MESSAGES: a READ reads the logged-in account\'s own queue, whatever its "name" key says');
  alice.send(T.DELETE_MESSAGES, map({ ids: [forCarol], from: 'bob' }));
  await alice.expectReply(T.DELETED, map({ ids: [] }), 'DELETED {ids: []}: alice cannot delete bob\'s message by naming him');
  // A message the old alice sent is not the new alice's to delete (section 5.8).
  const old = await sendMessage(alice, 'carol', 'from the first alice');
  alice.send(T.DELETE_ACCOUNT, map());
  await alice.expectReply(T.ACCOUNT_DELETED, map(), 'ACCOUNT_DELETED for the first alice');
  await createAccount(alice, 'alice');
  await login(alice, 'alice');
  alice.send(T.DELETE_MESSAGES, map({ ids: [old] }));
  await alice.expectReply(T.DELETED, map({ ids: [] }), `DELETED {ids: []}: message ${old} was sent by the deleted alice, and a new account of the same name is someone else`);
  alice.send(T.DELETE_ACCOUNT, map({ name: 'bob' }));
  await alice.expectReply(T.ACCOUNT_DELETED, map(), 'ACCOUNT_DELETED: alice deletes her own account, whatever the "name" key says');
  bob.send(T.LIST_ACCOUNTS, map({ pattern: '*' }));
  await bob.expectReply(T.ACCOUNTS, map({ names: ['bob', 'carol'] }), 'ACCOUNTS ["bob", "carol"]: bob\'s account is still there, alice\'s is gone');
  const carol = await Peer.connect(h, server, { name: 'carol' });
  await login(carol, 'carol', 2);
  await expectRead(carol, 10, [{ from: 'bob', id: forCarol, text: 'for carol only' }, { from: 'alice', id: old, text: 'from the first alice' }], 0, 'MESSAGES with both messages, none deleted');
});

test('deleting an account deletes the messages waiting for it, not those it sent', { points: 2 }, async (h) => {
  const server = await h.start();
  const alice = await user(h, server, 'alice');
  await createAccount(alice, 'bob');
  await createAccount(alice, 'carol');
  const old1 = await sendMessage(alice, 'bob', 'for the old bob 1');
  const old2 = await sendMessage(alice, 'bob', 'for the old bob 2');
  const bob = await Peer.connect(h, server, { name: 'bob' });
  await login(bob, 'bob', 2);
  const fromBob = await sendMessage(bob, 'carol', 'bob was here');
  bob.send(T.DELETE_ACCOUNT, map());
  await bob.expectReply(T.ACCOUNT_DELETED, map(), 'ACCOUNT_DELETED');
  alice.send(T.DELETE_MESSAGES, map({ ids: [old1, old2] }));
  await alice.expectReply(T.DELETED, map({ ids: [] }), `DELETED {ids: []}: messages ${old1} and ${old2} were deleted with bob's account, and a deleted message is not deleted again (section 5.8)`);
  alice.send(T.SEND, map({ to: 'bob', text: 'anyone?' }));
  await alice.expectError('no-such-account', 'an ERROR "no-such-account" for a message to the deleted bob');
  await createAccount(bob, 'bob');
  await login(bob, 'bob', 0);
  await expectRead(bob, 10, [], 0, 'an empty MESSAGES: the new bob does not inherit the old one\'s messages');
  const carol = await Peer.connect(h, server, { name: 'carol' });
  await login(carol, 'carol', 1);
  await expectRead(carol, 10, [{ from: 'bob', id: fromBob, text: 'bob was here' }], 0, 'MESSAGES with the message the deleted bob sent');
});

test('many senders at once: every message exactly once, each sender\'s in order', { points: 2 }, async (h) => {
  const server = await h.start();
  const dave = await Peer.connect(h, server, { name: 'dave' });
  await createAccount(dave, 'dave');
  const senders = [await user(h, server, 's1'), await user(h, server, 's2'), await user(h, server, 's3')];
  const sent = new Map<bigint, Msg>();
  const count = new Map<string, number>(senders.map((s) => [s.name, 0]));

  /** Each sender puts `n` messages in flight at once, then reads their SENT replies, which come in order. */
  const batch = (n: number) =>
    Promise.all(
      senders.map(async (s) => {
        const texts = Array.from({ length: n }, () => {
          const k = count.get(s.name)! + 1;
          count.set(s.name, k);
          return `${s.name} #${k}`;
        });
        for (const text of texts) s.send(T.SEND, map({ to: 'dave', text }));
        for (const text of texts) {
          const frame = await s.readReply(`SENT for ${s.name}'s message "${text}"`);
          const reply = s.decode(frame, 'a SENT reply');
          const id = reply instanceof Map ? reply.get('id') : undefined;
          if (frame.type !== BigInt(T.SENT) || typeof id !== 'bigint') throw new GradeFailure(`${s.name} expected SENT {id} and got ${s.describe(frame)}`);
          if (sent.has(id)) throw new GradeFailure(`the id ${id} was given to two messages`);
          sent.set(id, { from: s.name, id, text });
        }
      }),
    );

  // Messages in the order they reached dave: pushes met before a reply came before it in the stream.
  const received: Msg[] = [];
  const collect = (messages: Value[]) => {
    for (const push of dave.pushes.splice(0)) received.push(asMessage(dave.decode(push, 'a pushed MESSAGE')));
    for (const m of messages) received.push(asMessage(m));
  };
  const readOnce = async (limit: bigint): Promise<bigint> => {
    const reply = await dave.call(T.READ, map({ limit }), T.MESSAGES, 'MESSAGES');
    const messages = reply.get('messages');
    const remaining = reply.get('remaining');
    if (!Array.isArray(messages) || typeof remaining !== 'bigint') throw new GradeFailure(`dave got MESSAGES ${show(reply)}; it must be {messages: [...], remaining: int}`);
    // Also what keeps the loops below finite: every READ that says messages remain must return some.
    if (messages.length === 0 && remaining > 0n) throw new GradeFailure(`dave got MESSAGES with no messages and ${remaining} remaining: a READ returns at least one message when any is waiting`);
    collect(messages);
    return remaining;
  };

  // 1. Messages wait before dave logs in, so all of the first batch must queue behind them.
  await batch(2);
  await login(dave, 'dave', 6);
  await batch(4);
  // 2. dave reads while the second batch is sent: queueing, reading and pushing interleave.
  let sendsDone = false;
  const sending = batch(6).finally(() => (sendsDone = true));
  // Awaited below; this only keeps a failure from counting as unhandled in the meantime.
  sending.catch(() => undefined);
  while (!sendsDone) await readOnce(4n);
  await sending;
  while ((await readOnce(3n)) > 0n);
  // 3. dave's queue is empty: the third batch must be pushed.
  await batch(4);
  await dave.ping('a PONG after the last batch: every push was sent before it');
  while ((await readOnce(100n)) > 0n);
  collect([]);

  const seen = new Set<bigint>();
  for (const m of received) {
    if (seen.has(m.id)) throw new GradeFailure(`dave received message ${m.id} (${JSON.stringify(m.text)}) twice: it must be pushed or read, never both`);
    seen.add(m.id);
    const original = sent.get(m.id);
    if (!original || original.text !== m.text || original.from !== m.from) {
      throw new GradeFailure(`dave received ${show(map({ ...m }))}, which is not a message that was sent${original ? `: message ${m.id} was ${JSON.stringify(original.text)} from ${original.from}` : ''}`);
    }
  }
  const lost = [...sent.values()].filter((m) => !seen.has(m.id)).map((m) => `${m.id} ${JSON.stringify(m.text)}`);
  if (lost.length > 0) throw new GradeFailure(`${lost.length} of ${sent.size} messages never reached dave, by push or by READ: ${lost.slice(0, 5).join(', ')}`);
  for (const s of senders) {
    const order = received.filter((m) => m.from === s.name).map((m) => Number(m.text.split('#')[1]));
    const sorted = [...order].sort((a, b) => a - b);
    if (order.join() !== sorted.join()) throw new GradeFailure(`dave received ${s.name}'s messages in the order #${order.join(', #')}; they must arrive in the order they were sent`);
  }
});

test('a seeded random run of sends, reads, deletes and logins: every reply and push as section 9 says', { points: 2 }, async (h) => {
  const server = await h.start();
  const random = h.random;
  // The model: for each name its current account (a new object when the name is made again, since
  // a new account of the same name is someone else), each account's queue, who is logged in,
  // and the pushes each connection should have received since its last reply was checked.
  interface Account {
    name: string;
    queue: { message: Msg; sender: Account }[];
  }
  const names = ['ann', 'ben', 'cat'];
  const peers = new Map<string, Peer>();
  const accounts = new Map<string, Account>();
  const online = new Set<string>();
  const pushes = new Map<string, Msg[]>(names.map((name) => [name, []]));
  const ids: bigint[] = [];
  const sentBy = new Map<bigint, string>();
  for (const name of names) {
    peers.set(name, await user(h, server, name));
    accounts.set(name, { name, queue: [] });
    online.add(name);
  }
  /** After a reply on `name`'s connection: the pushes the model expects arrived before it, and no others. */
  const checkPushes = async (name: string, when: string) => {
    const peer = peers.get(name)!;
    for (const m of pushes.get(name)!.splice(0)) await peer.expectPush(m, `the MESSAGE ${m.id} pushed to ${name} (logged in, nothing waiting: section 9), before the reply to ${when}`);
    const extra = peer.pushes.shift();
    if (extra) throw new GradeFailure(`${name} got a pushed ${peer.describe(extra)} before the reply to ${when}; ${name} ${online.has(name) ? 'had messages waiting, so a new one must queue behind them' : 'was logged out'} (section 9)`);
  };

  for (let step = 1; step <= 150; step++) {
    const on = [...online];
    const off = names.filter((name) => !online.has(name));
    const roll = random.next();
    let kind = roll < 0.42 ? 'send' : roll < 0.57 ? 'read' : roll < 0.72 ? 'delete' : roll < 0.86 ? 'logout' : roll < 0.97 ? 'login' : 'delete-account';
    if (on.length === 0) kind = 'login';
    else if (kind === 'login' && off.length === 0) kind = 'send';
    if (kind === 'login') {
      const name = random.pick(off);
      await login(peers.get(name)!, name, accounts.get(name)!.queue.length);
      online.add(name);
      await checkPushes(name, 'its LOGIN');
    } else if (kind === 'logout') {
      const name = random.pick(on);
      peers.get(name)!.send(T.LOGOUT, map());
      await peers.get(name)!.expectReply(T.LOGGED_OUT, map(), `LOGGED_OUT for ${name}`);
      online.delete(name);
      await checkPushes(name, 'its LOGOUT');
    } else if (kind === 'send') {
      const from = random.pick(on);
      // Often to someone logged out, so that messages wait and are read, deleted or logged in to.
      const to = random.pick(off.length > 0 && random.chance(0.5) ? off : names);
      const text = `step ${step}: ${from} to ${to}`;
      const id = await sendMessage(peers.get(from)!, to, text);
      if (ids.length > 0 && id <= ids[ids.length - 1]!) throw new GradeFailure(`message ${id} came after message ${ids[ids.length - 1]}: each id is larger than every id given before it (section 9)`);
      ids.push(id);
      sentBy.set(id, from);
      const recipient = accounts.get(to)!;
      const message = { from, id, text };
      if (online.has(to) && recipient.queue.length === 0) pushes.get(to)!.push(message);
      else recipient.queue.push({ message, sender: accounts.get(from)! });
      await checkPushes(from, `its SEND of message ${id}`);
    } else if (kind === 'read') {
      // Mostly someone with messages waiting.
      const waiting = on.filter((n) => accounts.get(n)!.queue.length > 0);
      const name = random.pick(waiting.length > 0 && random.chance(0.8) ? waiting : on);
      const queue = accounts.get(name)!.queue;
      const limit = random.int(1, 3);
      const taken = queue.splice(0, limit).map((entry) => entry.message);
      await expectRead(peers.get(name)!, limit, taken, queue.length, `MESSAGES for ${name}'s READ {limit: ${limit}} at step ${step}: the ${limit} oldest of the messages waiting for ${name}, and how many remain (sections 5.7 and 9)`);
      await checkPushes(name, `its READ at step ${step}`);
    } else if (kind === 'delete') {
      const name = random.pick(on);
      // Mostly ids this name sent, whatever became of them (pushed, read, waiting, deleted), and one of any sender.
      const asked = [...random.shuffle(ids.filter((id) => sentBy.get(id) === name)).slice(0, random.int(1, 5)), ...random.shuffle(ids).slice(0, 1), 999_999n];
      const me = accounts.get(name)!;
      const deleted: bigint[] = [];
      for (const account of accounts.values()) {
        account.queue = account.queue.filter((entry) => !(entry.sender === me && asked.includes(entry.message.id) && deleted.push(entry.message.id)));
      }
      deleted.sort((a, b) => (a < b ? -1 : 1));
      peers.get(name)!.send(T.DELETE_MESSAGES, map({ ids: asked }));
      await peers.get(name)!.expectReply(T.DELETED, map({ ids: deleted }), `DELETED for ${name}'s DELETE_MESSAGES {ids: [${asked.join(', ')}]} at step ${step}: the messages ${name} sent that still wait, ascending (section 5.8)`);
      await checkPushes(name, `its DELETE_MESSAGES at step ${step}`);
    } else {
      // The account goes with the messages waiting for it (mostly one that has some); it is made
      // again, empty, and logged out.
      const waiting = on.filter((n) => accounts.get(n)!.queue.length > 0);
      const name = random.pick(waiting.length > 0 && random.chance(0.8) ? waiting : on);
      const peer = peers.get(name)!;
      peer.send(T.DELETE_ACCOUNT, map());
      await peer.expectReply(T.ACCOUNT_DELETED, map(), `ACCOUNT_DELETED for ${name} at step ${step}`);
      await checkPushes(name, 'its DELETE_ACCOUNT');
      online.delete(name);
      await createAccount(peer, name);
      accounts.set(name, { name, queue: [] });
    }
  }
  for (const name of names) {
    await peers.get(name)!.ping(`a PONG for ${name} at the end of the run`);
    await checkPushes(name, 'the last PING');
  }
});

function asMessage(value: Value): Msg {
  const ok = value instanceof Map && value.size === 3 && typeof value.get('from') === 'string' && typeof value.get('id') === 'bigint' && typeof value.get('text') === 'string';
  if (!ok) throw new GradeFailure(`a message must be {from: string, id: int, text: string}; got ${show(value)}`);
  return { from: value.get('from') as string, id: value.get('id') as bigint, text: value.get('text') as string };
}
