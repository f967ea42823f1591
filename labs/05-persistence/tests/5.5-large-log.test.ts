import path from 'node:path';
import lab from '../lab.js';
import { GradeFailure, phase, type Harness } from '../../../grader/harness/index.js';
import { Peer, createAccount, describeMessages, map, readAll, relogin, sendMessage, startServer, stopCleanly, type Msg } from './durable.js';
import { R, encodeFlatRecord, encodeRecord, readLog } from './logfile.js';
import { appendDataFile, writeDataFile } from '../../../grader/harness/datafiles.js';

const test = phase(lab, '5.5');

const users = Array.from({ length: 4 }, (_, i) => `user${i}`);

/** A stopped server whose log holds the grader's accounts (made through the protocol, so their hashes are the server's own). */
async function withAccounts(h: Harness) {
  const { server, dir } = await startServer(h, { readyTimeoutMs: 30_000 });
  const setup = await Peer.connect(h, server, { name: 'setup' });
  for (const name of users) await createAccount(setup, name);
  await stopCleanly(server);
  const accounts = readLog(dir).filter((r) => r.type === R.ACCOUNT_CREATED);
  const numbers = new Map(accounts.map((r) => [r.payload.get('name') as string, r.index]));
  const passwords = new Map(accounts.map((r) => [r.payload.get('name') as string, r.payload.get('password') as string]));
  return { server, dir, numbers, passwords, last: accounts[accounts.length - 1]!.index };
}

/**
 * Writes `count` records in the spec's format after index `last`: messages between the accounts,
 * most of them delivered or deleted soon after, the rest left waiting. Returns the waiting queues.
 */
function generate(h: Harness, file: string, last: bigint, count: number, queues: Map<string, Msg[]>): bigint {
  let index = last;
  const chunks: Buffer[] = [];
  const pending: { id: bigint; to: string }[] = [];
  const next = () => ++index;
  while (index < last + BigInt(count)) {
    if (pending.length >= 40 || (pending.length > 0 && h.random.chance(0.05))) {
      // Deliver (or delete) most of what is pending; what is left stays waiting for good.
      const take = pending.splice(0, pending.length - h.random.int(0, 2));
      const ids = take.map((p) => p.id).sort((a, b) => (a < b ? -1 : 1));
      for (const p of take) queues.set(p.to, queues.get(p.to)!.filter((m) => m.id !== p.id));
      chunks.push(encodeFlatRecord(h.random.chance(0.8) ? R.MESSAGES_DELIVERED : R.MESSAGES_DELETED, { ids, index: next() }));
      continue;
    }
    const from = h.random.pick(users);
    const to = h.random.pick(users);
    const id = next();
    const text = `message ${id} from ${from}${h.random.chance(0.1) ? ` ${'é✓ '.repeat(h.random.int(1, 30))}` : ''}`;
    chunks.push(encodeFlatRecord(R.MESSAGE_SENT, { from, index: id, text, to }));
    queues.get(to)!.push({ from, id, text });
    pending.push({ id, to });
  }
  appendDataFile(file, Buffer.concat(chunks));
  return index;
}

/** Logs in to every account and compares what waits with the grader's model, message by message. */
async function expectQueues(h: Harness, server: Parameters<typeof relogin>[1], queues: Map<string, Msg[]>, what: string): Promise<void> {
  for (const name of users) {
    const expected = queues.get(name)!;
    const peer = await relogin(h, server, name, expected.length).catch((error: Error) => {
      throw new GradeFailure(`${what}: ${name} must have ${expected.length} messages waiting: ${error.message}`);
    });
    const got = await readAll(peer);
    const key = (m: Msg) => `${m.id}:${m.from}:${m.text}`;
    if (got.map(key).join('|') !== expected.map(key).join('|')) {
      throw new GradeFailure(`${what}: ${name}'s waiting messages must be ${describeMessages(expected)}; they are ${describeMessages(got) || 'none'}`);
    }
    peer.conn.end();
  }
}

test('a log of 100,000 records: the server recovers it in time and exactly', { points: 7 }, async (h) => {
  const { server, dir, last } = await withAccounts(h);
  const queues = new Map(users.map((u) => [u, [] as Msg[]]));
  const end = generate(h, path.join(dir, 'log'), last, 100_000, queues);
  h.note(`the grader appended ${end - last} records to the log (indexes ${last + 1n} to ${end}); ${[...queues.values()].reduce((n, q) => n + q.length, 0)} messages are left waiting`);
  const started = Date.now();
  await server.restart();
  h.note(`the server accepted connections ${Date.now() - started} ms after it was started on the 100,000-record log`);
  await expectQueues(h, server, queues, 'after recovering the 100,000-record log');
  const id = await sendMessage(await relogin(h, server, 'user0', 0), 'user1', 'the next one');
  if (id <= end) throw new GradeFailure(`after a log whose last record has index ${end}, a new message got id ${id}: a message's id is its record's index, one more than the last (spec section 1)`);
});

test('a snapshot larger than a log record may be, and a log after it', { points: 3 }, async (h) => {
  const { server, dir, numbers, passwords, last } = await withAccounts(h);
  // About 1.5 MiB of waiting messages, all in the snapshot: more than a log record may hold.
  const queues = new Map(users.map((u) => [u, [] as Msg[]]));
  let index = last;
  for (let i = 0; i < 12_000; i++) {
    const from = users[i % users.length]!;
    const to = users[(i * 7 + 3) % users.length]!;
    queues.get(to)!.push({ from, id: ++index, text: `snapshotted ${i} ${'s'.repeat(i % 90)}` });
  }
  const snapshot = encodeRecord(R.SNAPSHOT, map({
    accounts: users.map((name) => map({
      name,
      number: numbers.get(name)!,
      password: passwords.get(name)!,
      queue: queues.get(name)!.map((m) => map({ from: m.from, id: m.id, sender: numbers.get(m.from)!, text: m.text })),
    })),
    index,
  }));
  writeDataFile(path.join(dir, 'snapshot'), snapshot);
  writeDataFile(path.join(dir, 'log'), Buffer.alloc(0));
  const end = generate(h, path.join(dir, 'log'), index, 2_000, queues);
  h.note(`the grader wrote a ${snapshot.length}-byte snapshot up to index ${index} and ${end - index} records after it`);
  await server.restart();
  await expectQueues(h, server, queues, `after recovering a ${snapshot.length}-byte snapshot and 2,000 records`);
});
