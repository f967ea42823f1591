import { existsSync } from 'node:fs';
import path from 'node:path';
import lab from '../lab.js';
import { GradeFailure, phase, type Harness } from '../../../grader/harness/index.js';
import { Peer, T, createAccount, expectRead, login, loginAnyCount, map, newUser, relogin, sendMessage, show, startServer, stopCleanly } from './durable.js';
import { kill9 } from './history.js';
import { R, readLog, recordName } from './logfile.js';
import { readDataFile } from '../../../grader/harness/datafiles.js';

const test = phase(lab, '5.1');

test('accounts, passwords, waiting messages and deletions survive a clean restart', { points: 7 }, async (h) => {
  const { server } = await startServer(h);
  const alice = await newUser(h, server, 'alice');
  await createAccount(alice, 'bob', 'pw-bob');
  await createAccount(alice, 'carol', 'pw-carol');
  const ids: bigint[] = [];
  for (const text of ['one', 'two', 'three', 'four']) ids.push(await sendMessage(alice, 'bob', text));
  const bob = await relogin(h, server, 'bob', 4);
  await expectRead(bob, 1, [{ from: 'alice', id: ids[0]!, text: 'one' }], 3, 'MESSAGES with the oldest of bob\'s four messages');
  alice.send(T.DELETE_MESSAGES, map({ ids: [ids[2]!] }));
  await alice.expectReply(T.DELETED, map({ ids: [ids[2]!] }), `DELETED {ids: [${ids[2]}]}`);
  const carol = await relogin(h, server, 'carol', 0);
  carol.send(T.DELETE_ACCOUNT, map());
  await carol.expectReply(T.ACCOUNT_DELETED, map(), 'ACCOUNT_DELETED for carol');

  await stopCleanly(server);
  await server.restart();

  const alice2 = await Peer.connect(h, server, { name: 'alice after the restart' });
  alice2.send(T.LOGIN, map({ name: 'alice', password: 'wrong' }));
  await alice2.expectError('login-failed', 'an ERROR "login-failed" for alice\'s wrong password, after the restart');
  await login(alice2, 'alice');
  alice2.send(T.LIST_ACCOUNTS, map({ pattern: '*' }));
  await alice2.expectReply(T.ACCOUNTS, map({ names: ['alice', 'bob'] }), 'ACCOUNTS {names: ["alice", "bob"]}: carol deleted her account before the restart');
  const bob2 = await relogin(h, server, 'bob', 2);
  await expectRead(bob2, 10, [{ from: 'alice', id: ids[1]!, text: 'two' }, { from: 'alice', id: ids[3]!, text: 'four' }], 0,
    'MESSAGES with "two" and "four": "one" was read and "three" deleted before the restart');
  await createAccount(alice2, 'carol', 'new-carol');
  const next = await sendMessage(alice2, 'bob', 'five');
  const largest = ids.reduce((a, b) => (a > b ? a : b));
  if (next <= largest) throw new GradeFailure(`after the restart a message got id ${next}, but ids given before it went up to ${largest}: ids never go backwards or repeat (spec section 1)`);
});

test('a message pushed before a clean restart is not delivered again', { points: 3 }, async (h) => {
  const { server } = await startServer(h);
  const alice = await newUser(h, server, 'alice');
  const bob = await newUser(h, server, 'bob');
  const id = await sendMessage(alice, 'bob', 'pushed to bob');
  await bob.expectPush({ from: 'alice', id, text: 'pushed to bob' }, 'the MESSAGE pushed to bob, who is logged in');
  await bob.ping('a PONG after the push');
  await stopCleanly(server);
  await server.restart();
  const again = await relogin(h, server, 'bob', 0);
  await expectRead(again, 10, [], 0, 'an empty MESSAGES: the message was pushed before the clean restart, and its delivery recorded (spec section 7)');
});

test('ids keep growing over several restarts', { points: 3 }, async (h) => {
  const { server } = await startServer(h);
  let alice = await newUser(h, server, 'alice');
  let last = await sendMessage(alice, 'alice', 'first');
  await alice.expectPush({ from: 'alice', id: last, text: 'first' }, 'the MESSAGE alice sent herself');
  for (let round = 1; round <= 3; round++) {
    await stopCleanly(server);
    await server.restart();
    alice = await relogin(h, server, 'alice', 0);
    const id = await sendMessage(alice, 'alice', `after restart ${round}`);
    if (id <= last) throw new GradeFailure(`after restart ${round} a message got id ${id}, not larger than the id ${last} given before it: ids never go backwards or repeat (spec section 1)`);
    await alice.expectPush({ from: 'alice', id, text: `after restart ${round}` }, `the MESSAGE alice sent herself after restart ${round}`);
    last = id;
  }
});

test('the log holds the records of spec section 5, in order, with consecutive indexes', { points: 5 }, async (h) => {
  const { server, dir } = await startServer(h);
  const alice = await newUser(h, server, 'alice');
  await createAccount(alice, 'bob', 's3cret-bob');
  const m1 = await sendMessage(alice, 'bob', 'hello bob');
  const m2 = await sendMessage(alice, 'bob', 'still there?');
  const bob = await Peer.connect(h, server, { name: 'bob' });
  await login(bob, 'bob', 2, 's3cret-bob');
  await expectRead(bob, 1, [{ from: 'alice', id: m1, text: 'hello bob' }], 1, 'MESSAGES with the first message');
  await bob.ping('a PONG: the MESSAGES reply is written, so its delivery is recorded');
  alice.send(T.DELETE_MESSAGES, map({ ids: [m2, m1] }));
  await alice.expectReply(T.DELETED, map({ ids: [m2] }), `DELETED {ids: [${m2}]}: the delivered message cannot be deleted`);
  // Requests that change nothing append nothing (spec section 5): none of these adds a record.
  await expectRead(bob, 5, [], 0, 'MESSAGES with no message: the other one was deleted');
  alice.send(T.DELETE_MESSAGES, map({ ids: [m1, m2] }));
  await alice.expectReply(T.DELETED, map({ ids: [] }), 'DELETED {ids: []}: one message was delivered, the other deleted already');
  alice.send(T.CREATE_ACCOUNT, map({ name: 'bob', password: 'another' }));
  await alice.expectError('name-taken', 'ERROR name-taken for a second account "bob"');
  alice.send(T.LIST_ACCOUNTS, map({ pattern: '*' }));
  await alice.expectReply(T.ACCOUNTS, map({ names: ['alice', 'bob'] }), 'ACCOUNTS {names: ["alice", "bob"]}');
  await alice.ping('PING changes nothing');
  alice.send(T.LOGOUT, map());
  await alice.expectReply(T.LOGGED_OUT, map(), 'LOGGED_OUT');
  await login(alice, 'alice');
  const stranger = await Peer.connect(h, server, { name: 'stranger' });
  stranger.send(T.LOGIN, map({ name: 'bob', password: 'not-the-password' }));
  await stranger.expectError('login-failed', 'ERROR login-failed for a wrong password');
  bob.send(T.DELETE_ACCOUNT, map());
  await bob.expectReply(T.ACCOUNT_DELETED, map(), 'ACCOUNT_DELETED for bob');
  await stopCleanly(server);
  if (existsSync(path.join(dir, 'LOCK'))) throw new GradeFailure('after a clean stop (SIGTERM, exit status 0) the data directory still holds LOCK: a clean shutdown removes it (spec section 3, step 3)');

  const records = readLog(dir);
  const expected: { type: number; fields: Record<string, 'password' | string | bigint | bigint[]> }[] = [
    { type: R.ACCOUNT_CREATED, fields: { name: 'alice', password: 'password' } },
    { type: R.ACCOUNT_CREATED, fields: { name: 'bob', password: 'password' } },
    { type: R.MESSAGE_SENT, fields: { from: 'alice', to: 'bob', text: 'hello bob' } },
    { type: R.MESSAGE_SENT, fields: { from: 'alice', to: 'bob', text: 'still there?' } },
    { type: R.MESSAGES_DELIVERED, fields: { ids: [m1] } },
    { type: R.MESSAGES_DELETED, fields: { ids: [m2] } },
    { type: R.ACCOUNT_DELETED, fields: { name: 'bob' } },
  ];
  const summary = () => records.map((r) => `  offset ${r.offset}: ${recordName(r.type)} ${show(r.payload)}`).join('\n');
  if (records.length !== expected.length || records.some((r, i) => r.type !== expected[i]!.type)) {
    throw new GradeFailure(`after a clean stop the log must hold these ${expected.length} records: ${expected.map((e) => recordName(e.type)).join(', ')}; it holds:\n${summary()}`);
  }
  const first = records[0]!.index;
  if (first !== 1n) throw new GradeFailure(`the first record of a new data directory has index 1; this one has ${first}:\n${summary()}`);
  records.forEach((record, i) => {
    if (record.index !== BigInt(i + 1)) throw new GradeFailure(`record ${i + 1} has index ${record.index}; indexes go up by one from 1:\n${summary()}`);
    const want = expected[i]!.fields;
    const keys = [...record.payload.keys()].sort();
    const wantKeys = ['index', ...Object.keys(want)].sort();
    if (keys.join() !== wantKeys.join()) throw new GradeFailure(`a ${recordName(record.type)} record holds the keys {${wantKeys.join(', ')}}; the one at offset ${record.offset} holds {${keys.join(', ')}}:\n${summary()}`);
    for (const [key, value] of Object.entries(want)) {
      const got = record.payload.get(key)!;
      if (value === 'password') {
        const secret = key === 'password' && (got === `pw-alice` || got === 's3cret-bob' || (typeof got === 'string' && /pw-alice|s3cret-bob/.test(got)));
        if (typeof got !== 'string' || got === '' || secret) throw new GradeFailure(`the ACCOUNT_CREATED record at offset ${record.offset} must hold the salted hash as a string, never the password; it holds ${show(got)}`);
      } else if (show(got) !== show(value)) {
        throw new GradeFailure(`the ${recordName(record.type)} record at offset ${record.offset} must have ${key} = ${show(value)}; it has ${show(got)}:\n${summary()}`);
      }
    }
  });
  const sent = records.filter((r) => r.type === R.MESSAGE_SENT).map((r) => r.index);
  if (sent[0] !== m1 || sent[1] !== m2) throw new GradeFailure(`a message's id is the index of its MESSAGE_SENT record (spec section 1): the SENT replies gave ids ${m1} and ${m2}, the records have indexes ${sent.join(' and ')}`);
});

test('a second server on the same data directory refuses to start; the first goes on, also when it took over a stale lock', { points: 2 }, async (h) => {
  const { server, dir } = await startServer(h);
  await expectSecondRefused(h, dir, await newUser(h, server, 'alice'), 'a fresh data directory');
  // kill -9 leaves LOCK behind with a dead process id: the next server takes the lock over, and
  // must then hold it as its own (spec section 3, step 2), or a third one would take it too.
  await kill9(server);
  const { server: next } = await startServer(h, { dir, name: 'server after kill -9' });
  await expectSecondRefused(h, dir, await loginAnyCount(h, next, 'alice', 'after the restart'), 'a data directory whose stale LOCK (left by kill -9) the running server took over');
});

/** A second server started on `dir` must exit with status 1, leaving LOCK as it was; `alice` is logged in to the first. */
async function expectSecondRefused(h: Harness, dir: string, alice: Peer, where: string): Promise<void> {
  const lock = readDataFile(path.join(dir, 'LOCK')).toString('utf8');
  let started = false;
  try {
    await startServer(h, { dir, name: 'second server' });
    started = true;
  } catch (error) {
    if (!(error instanceof GradeFailure) || !/exited with code [1-9]/.test(error.message)) {
      throw new GradeFailure(`a second server on ${where}, while a server runs on it, must exit with status 1 (spec section 3); ${(error as Error).message}`);
    }
  }
  if (started) throw new GradeFailure(`a second server started on ${where} while a server ran on it, and accepted connections: it must refuse (spec section 3, the lock)`);
  const after = readDataFile(path.join(dir, 'LOCK')).toString('utf8');
  if (after !== lock) throw new GradeFailure(`the refused second server changed LOCK from ${JSON.stringify(lock)} to ${JSON.stringify(after)}`);
  await sendMessage(alice, 'alice', `the first server still works (${where})`);
}
