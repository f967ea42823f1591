// Phase 5.8 (hidden): directories the public phases never make, since they start from empty ones.
//
// Indexes past 2^53. An index is lab 3's int, 64 bits, and so is every id and account number made
// from one (spec sections 4, 5 and 9); from an empty directory they stay small, so a server that
// keeps them as JavaScript numbers (exact only up to 2^53) or as 32-bit integers passes every
// public phase. Here the grader writes a snapshot at an index past 2^62 and the server must number
// everything after it exactly: across a clean restart, a kill -9 and its own compactions.
//
// Records of a later version: keys this lab does not list are ignored (section 4), so a log with
// lab 7's "term" in every record recovers. Then the client's --host (grader/harness/hosts.ts).
import path from 'node:path';
import lab from './lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import { writeDataFile } from '../../../grader/harness/datafiles.js';
import { Peer, T, createAccount, login, map, relogin, sendMessage, startServer, stopCleanly } from '../tests/durable.js';
import { kill9 } from '../tests/history.js';
import { R, encodeRecord, recoveredState } from '../tests/logfile.js';
import { expectClientDialsHost } from '../../../grader/harness/hosts.js';

const test = phase(lab, '5.8');

test('a snapshot at an index past 2^62: records, ids and account numbers after it go on from it exactly, across restarts and compactions', { points: 3 }, async (h) => {
  // Half way between two numbers a double can hold there (they are 1,024 apart), so that rounding shows.
  const base = 2n ** 62n + 512n + BigInt(h.random.int(0, 100));
  const alice = base - 40n;
  const dir = h.dataDir();
  const password = 'made by the grader: no password matches it';
  const kept = map({ id: base - 3n, from: 'alice', text: 'kept in the snapshot', sender: alice });
  writeDataFile(path.join(dir, 'snapshot'), encodeRecord(R.SNAPSHOT, map({ index: base, accounts: [map({ name: 'alice', password, number: alice, queue: [kept] })] })));
  h.note(`the grader wrote a snapshot at index ${base}: alice's account (number ${alice}) and message ${base - 3n} waiting for her`);
  const { server } = await startServer(h, { dir, compactAfter: 3 });
  const ids: bigint[] = [];
  const expectId = (id: bigint, want: bigint, when: string) => {
    if (id !== want) {
      throw new GradeFailure(
        `${when}, carol's SEND got id ${id}; the records since the grader's snapshot at index ${base} make it ${want} (an id is the index of its MESSAGE_SENT record, one more than the record before it: spec sections 4 and 5). An index is a 64-bit int: a JavaScript number holds it exactly only up to 2^53, so keep indexes as bigint`,
      );
    }
    ids.push(id);
  };
  const carol = await Peer.connect(h, server, { name: 'carol' });
  await createAccount(carol, 'carol');
  await login(carol, 'carol');
  // Account carol is record base + 1; each SEND to alice (who is away) appends one record.
  expectId(await sendMessage(carol, 'alice', 'first'), base + 2n, 'on the snapshot');
  expectId(await sendMessage(carol, 'alice', 'second'), base + 3n, 'after one more record');
  await stopCleanly(server);
  await server.restart();
  expectId(await sendMessage(await relogin(h, server, 'carol', 0), 'alice', 'after a clean restart'), base + 4n, 'after a clean restart');
  await kill9(server);
  await server.restart();
  const again = await relogin(h, server, 'carol', 0);
  expectId(await sendMessage(again, 'alice', 'after kill -9'), base + 5n, 'after kill -9 and a restart (every record before it was acknowledged, so durable)');
  expectId(await sendMessage(again, 'alice', 'last'), base + 6n, 'at the end');
  await stopCleanly(server);
  // What the directory recovers to, by the spec's rules: the server's own snapshot and log.
  const state = recoveredState(dir);
  const queue = state.accounts.get('alice')?.queue.map((m) => m.id) ?? [];
  const want = [base - 3n, ...ids];
  const problems = [
    state.lastIndex !== base + 6n ? `its last index is ${state.lastIndex}, not ${base + 6n}` : '',
    state.accounts.get('alice')?.number !== alice ? `alice's number is ${state.accounts.get('alice')?.number}, not ${alice}` : '',
    state.accounts.get('carol')?.number !== base + 1n ? `carol's number is ${state.accounts.get('carol')?.number}, not ${base + 1n} (the index of her ACCOUNT_CREATED)` : '',
    queue.join() !== want.join() ? `alice's queue holds ${queue.join(', ') || 'nothing'}, not ${want.join(', ')}` : '',
  ].filter(Boolean);
  if (problems.length > 0) {
    throw new GradeFailure(`after a clean shutdown the data directory (snapshot and log, read by the spec's rules) is not what the requests made: ${problems.join('; ')}. Indexes, ids and account numbers are 64-bit ints (spec sections 4, 5 and 9)`);
  }
});

// Spec section 4: a reader ignores keys it does not know, so that a later version can add some
// (lab 7 adds a "term" to every record). A directory written by such a version must recover.
test('records of a later version, with keys this lab does not list, are read as if the keys were not there', { points: 2 }, async (h) => {
  const dir = h.dataDir();
  const password = 'made by the grader: no password matches it';
  const later = { term: 1n, written_by: 'a later version' };
  writeDataFile(
    path.join(dir, 'log'),
    Buffer.concat([
      encodeRecord(R.ACCOUNT_CREATED, map({ index: 1n, name: 'alice', password, ...later })),
      encodeRecord(R.ACCOUNT_CREATED, map({ index: 2n, name: 'bob', password, ...later })),
      encodeRecord(R.MESSAGE_SENT, map({ index: 3n, from: 'alice', to: 'bob', text: 'kept', ...later })),
    ]),
  );
  h.note('the grader wrote a log of three records, each with the keys "term" and "written_by", which lab 5 does not list');
  let server;
  try {
    ({ server } = await startServer(h, { dir }));
  } catch (error) {
    if (!(error instanceof GradeFailure)) throw error;
    throw new GradeFailure(`${error.message}\nThe log's records are whole and right, with two keys more than lab 5 lists ("term", "written_by"): a reader ignores keys it does not know (spec section 4), so this directory must recover, not be refused`);
  }
  const carol = await Peer.connect(h, server, { name: 'carol' });
  await createAccount(carol, 'carol');
  await login(carol, 'carol');
  carol.send(T.LIST_ACCOUNTS, map({ pattern: '*' }));
  await carol.expectReply(T.ACCOUNTS, map({ names: ['alice', 'bob', 'carol'] }), 'ACCOUNTS {names: ["alice", "bob", "carol"]}: alice and bob are in the log, whose records carry keys lab 5 does not list (spec section 4: they are ignored)');
  const id = await sendMessage(carol, 'bob', 'after them');
  if (id !== 5n) throw new GradeFailure(`carol's SEND got id ${id}; after the log's three records and carol's account (record 4) it is 5 (spec sections 4 and 5)`);
});

// The client dials the host it is given (spec section 10), not 127.0.0.1 whatever it is told (grader/harness/hosts.ts).
test('the client connects to the host it is given, here another loopback address', { points: 1 }, async (h) => {
  await expectClientDialsHost(h, (fake) => ({ port: fake.port, host: fake.host }), '--host');
});
