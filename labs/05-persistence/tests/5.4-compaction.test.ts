import { existsSync, lstatSync, readdirSync, rmSync, watch } from 'node:fs';
import path from 'node:path';
import lab from '../lab.js';
import { GradeFailure, phase, type Proc } from '../../../grader/harness/index.js';
import { dirBytes } from '../../../grader/harness/files.js';
import { encodeValue, message, type ValueMap } from '../../03-protocol/tests/wire.js';
import { Peer, T, createAccount, describeMessages, login, loginAnyCount, map, readAll, relogin, sendMessage, startServer, stopCleanly, type Msg } from './durable.js';
import { History, keepSending, kill9 } from './history.js';
import { R, encodeRecord, readLog, readSnapshot, recoveredState } from './logfile.js';
import { readDataFile, writeDataFile } from '../../../grader/harness/datafiles.js';

const test = phase(lab, '5.4');

/** The files a data directory may hold between two requests (spec sections 3 and 9). */
function checkFiles(dir: string, when: string): string[] {
  const files = readdirSync(dir).sort();
  const strange = files.filter((f) => !['LOCK', 'log', 'snapshot'].includes(f));
  if (strange.length > 0) throw new GradeFailure(`${when}, the data directory holds ${strange.join(', ')}: between two requests it holds only LOCK, log and snapshot (spec section 9)`);
  return files;
}

test('a long workload with --compact-after 20: the directory stays small, and the state is unchanged', { points: 5 }, async (h) => {
  const N = 20;
  const { server, dir } = await startServer(h, { compactAfter: N });
  const setup = await Peer.connect(h, server, { name: 'setup' });
  const senders = ['s1', 's2', 's3'];
  for (const name of [...senders, 'inbox']) await createAccount(setup, name);
  const peers = await Promise.all(senders.map(async (name) => {
    const peer = await Peer.connect(h, server, { name });
    await login(peer, name);
    return peer;
  }));
  const inbox = await relogin(h, server, 'inbox', 0);
  inbox.send(T.LOGOUT, map());
  await inbox.expectReply(T.LOGGED_OUT, map(), 'LOGGED_OUT');
  const waiting: Msg[] = [];
  for (let batch = 1; batch <= 6; batch++) {
    await Promise.all(peers.map(async (peer) => {
      for (let i = 1; i <= 12; i++) {
        const text = `${peer.name} batch ${batch} #${i} ${'z'.repeat(h.random.int(0, 40))}`;
        waiting.push({ from: peer.name, id: await sendMessage(peer, 'inbox', text), text });
      }
    }));
    // The inbox reads all but the last few: the state stays small, and deliveries are records too.
    if (batch % 2 === 0) {
      await login(inbox, 'inbox', waiting.length);
      waiting.sort((a, b) => (a.id < b.id ? -1 : 1));
      const keep = h.random.int(0, 5);
      const take = waiting.length - keep;
      const reply = await inbox.call(T.READ, map({ limit: BigInt(take) }), T.MESSAGES, `MESSAGES with ${take} messages`);
      const got = (reply.get('messages') as ValueMap[]).length;
      waiting.splice(0, got);
      inbox.send(T.LOGOUT, map());
      await inbox.expectReply(T.LOGGED_OUT, map(), 'LOGGED_OUT');
    }
    // A PING answered means the server is between two requests: any compaction is over.
    await setup.ping('a PONG: the server is between two requests');
    const files = checkFiles(dir, `after batch ${batch}`);
    const records = readLog(dir);
    const bound = N + 2 * (senders.length + 2);
    if (records.length >= bound) throw new GradeFailure(`after batch ${batch} the log holds ${records.length} records with --compact-after ${N}; between two requests it holds fewer than N + B = ${bound} (spec section 9, the bound)`);
    if (batch >= 2 && !files.includes('snapshot')) throw new GradeFailure(`after ${batch * 36} messages with --compact-after ${N}, the data directory has no snapshot: the log was never compacted`);
    const state = recoveredState(dir);
    const queue = state.accounts.get('inbox')?.queue ?? [];
    const sorted = [...waiting].sort((a, b) => (a.id < b.id ? -1 : 1));
    if (queue.map((m) => `${m.id}:${m.text}`).join('|') !== sorted.map((m) => `${m.id}:${m.text}`).join('|')) {
      throw new GradeFailure(`after batch ${batch}, the snapshot and log together say the inbox's waiting messages are ${describeMessages(queue) || 'none'}; the grader expects ${describeMessages(sorted) || 'none'}`);
    }
    const snapshot = readSnapshot(dir);
    if (snapshot) {
      // The snapshot holds the state as of its index, and nothing more.
      const canonical = 9 + encodeValue(snapshot.payload).length;
      const size = lstatSync(path.join(dir, 'snapshot')).size;
      if (size > canonical + 64) throw new GradeFailure(`after batch ${batch} the snapshot file holds ${size} bytes, but its state takes ${canonical} bytes as one record (spec section 9)`);
    }
    h.note(`after batch ${batch}: ${records.length} records in the log, ${dirBytes(dir)} bytes in the data directory`);
  }
  const lastIndex = recoveredState(dir).lastIndex;
  await stopCleanly(server);
  await server.restart();
  const after = await relogin(h, server, 'inbox', waiting.length);
  const got = await readAll(after);
  const sorted = [...waiting].sort((a, b) => (a.id < b.id ? -1 : 1));
  if (got.map((m) => `${m.id}:${m.text}`).join('|') !== sorted.map((m) => `${m.id}:${m.text}`).join('|')) {
    throw new GradeFailure(`after the restart the inbox holds ${describeMessages(got) || 'nothing'}; it must hold ${describeMessages(sorted)}`);
  }
  const id = await sendMessage(await relogin(h, server, 's1', 0), 'inbox', 'after compactions');
  if (id <= lastIndex) throw new GradeFailure(`after compactions and a restart a message got id ${id}, but the directory already held records up to index ${lastIndex}: indexes (and ids) run on across compactions (spec section 1)`);
});

test('kill -9 during compactions, again and again: nothing acknowledged is lost', { points: 4 }, async (h) => {
  const { server, dir } = await startServer(h, { compactAfter: 10 });
  const setup = await Peer.connect(h, server, { name: 'setup' });
  const senders = ['s1', 's2'];
  for (const name of [...senders, 'inbox']) await createAccount(setup, name);
  const history = new History();
  // Kill after the k-th change the directory sees once a compaction has begun: each step's aftermath in turn.
  const targets = h.random.shuffle([1, 2, 3, 4, 5, 6, 7, 8]);
  let compactions = 0;
  for (const [round, target] of targets.entries()) {
    const peers = await Promise.all(senders.map(async (name) => {
      const peer = await Peer.connect(h, server, { name });
      await login(peer, name);
      return peer;
    }));
    const killed = killDuringCompaction(server, dir, target, h.random.int(0, 15));
    const sending = peers.map((peer) => keepSending(peer, history, ['inbox'], 2));
    const how = await killed;
    if (how.compacting) compactions++;
    h.note(`round ${round + 1}: killed ${how.compacting ? `after change ${how.events} of a compaction` : 'by the fallback timer, no compaction seen'}`);
    await Promise.all(sending);
    history.run++;
    await server.restart();
    const inbox = await loginAnyCount(h, server, 'inbox', `after kill -9 number ${round + 1}`);
    history.deliver('inbox', await readAll(inbox));
    inbox.conn.end();
    history.check(`after kill -9 number ${round + 1}, during a compaction`);
  }
  if (compactions < targets.length / 2) throw new GradeFailure(`in ${targets.length} rounds of messages with --compact-after 10 the grader saw only ${compactions} compactions begin (a file snapshot.tmp appearing, spec section 9)`);
});

test('a compaction while a READ\'s reply waits for the sync: the snapshot keeps the message in flight, in its place', { points: 3 }, async (h) => {
  // The log is brought to N - 1 records; then the inbox sends, in one write, a READ of its oldest
  // message and a SEND. The SEND's record makes N: the server compacts after that sync, and if it
  // holds the READ's reply behind the sync (as the reference does), the message is in flight then:
  // out of its queue, its delivery not recorded. The snapshot must keep it, in id order (section 9).
  const N = 8;
  const { server, dir } = await startServer(h, { compactAfter: N });
  const setup = await Peer.connect(h, server, { name: 'setup' });
  for (const name of ['sender', 'inbox', 'pad']) await createAccount(setup, name);
  await login(setup, 'sender');
  const inbox = await Peer.connect(h, server, { name: 'inbox' });
  let inFlight = 0;
  // The inbox's queue, as the grader knows it from what was sent and read.
  const waiting: Msg[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    for (let i = 1; i <= 3; i++) {
      const text = `attempt ${attempt}, waiting ${i}`;
      waiting.push({ from: 'sender', id: await sendMessage(setup, 'inbox', text), text });
    }
    // Each SENT comes after its sync and any compaction it set off: the log is at rest.
    let pads = 0;
    for (let records = readLog(dir).length; records !== N - 1; records = readLog(dir).length) {
      if (++pads > 3 * N) throw new GradeFailure(`with --compact-after ${N}, after ${pads} messages one at a time the log never held ${N - 1} records between two requests (it held ${records}): a sync that leaves N records or more in the log is followed by a compaction (spec section 9)`);
      await sendMessage(setup, 'pad', `attempt ${attempt}, pad ${pads}`);
    }
    await login(inbox, 'inbox', waiting.length);
    inbox.sendRaw(Buffer.concat([message(T.READ, map({ limit: 1n })), message(T.SEND, map({ to: 'pad', text: `attempt ${attempt}: record ${N}` }))]), `READ {limit: 1} and SEND {to: "pad"} in one write, with the log at ${N - 1} records`);
    const oldest = waiting.shift()!;
    await inbox.expectReply(T.MESSAGES, map({ messages: [map({ from: oldest.from, id: oldest.id, text: oldest.text })], remaining: BigInt(waiting.length) }), `MESSAGES with the inbox's oldest message, ${oldest.id}`);
    const sent = await inbox.readReply('SENT for the SEND after the READ');
    const id = (inbox.decode(sent, 'SENT') as ValueMap).get('id');
    if (sent.type !== BigInt(T.SENT) || typeof id !== 'bigint') throw new GradeFailure(`inbox expected SENT {id} for its SEND and got ${inbox.describe(sent)}`);
    // Answered in order: what the server appended before the PONG is synced (the reference's delivery record among it).
    await inbox.ping('everything before it synced');
    recoveredState(dir); // the snapshot's order and shape (section 9)
    const snapshot = readSnapshot(dir);
    const delivery = readLog(dir).find((r) => r.type === R.MESSAGES_DELIVERED && (r.payload.get('ids') as bigint[]).includes(oldest.id));
    if (!snapshot || snapshot.index < id) {
      h.note(`attempt ${attempt}: no compaction after record ${id} (the snapshot is as of ${snapshot?.index ?? 'nothing'}): the server did not compact at the sync that made the log ${N} records, so nothing to check`);
    } else if (delivery && delivery.index > snapshot.index) {
      // Taken by the READ, its delivery recorded only after the snapshot: it was in flight at the compaction.
      inFlight++;
      const account = (snapshot.payload.get('accounts') as ValueMap[]).find((a) => a.get('name') === 'inbox');
      const ids = ((account?.get('queue') ?? []) as ValueMap[]).map((m) => m.get('id') as bigint);
      if (!ids.includes(oldest.id)) {
        throw new GradeFailure(
          `the snapshot as of record ${snapshot.index} leaves out message ${oldest.id}, which the READ had taken and whose MESSAGES_DELIVERED is record ${delivery.index}, after the snapshot: it was in flight at the compaction, and a snapshot keeps messages in flight queued (spec section 9). Its inbox queue: ${ids.join(', ') || 'empty'}`,
        );
      }
      h.note(`attempt ${attempt}: message ${oldest.id} was in flight at the compaction as of record ${snapshot.index}; the snapshot keeps it, in order`);
    }
    inbox.send(T.LOGOUT, map());
    await inbox.expectReply(T.LOGGED_OUT, map(), 'LOGGED_OUT');
  }
  h.note(inFlight ? `a message was in flight at ${inFlight} of 3 compactions` : 'the server wrote each READ reply before compacting: no message was in flight at a compaction');
});

/**
 * Kills `server` once the `target`-th change to `dir` after snapshot.tmp appears has been seen,
 * or, if no compaction starts, after a while anyway. Resolves once the server is dead.
 */
function killDuringCompaction(server: Proc, dir: string, target: number, extraMs: number): Promise<{ compacting: boolean; events: number }> {
  return new Promise((resolve, reject) => {
    let events = 0;
    let compacting = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      watcher.close();
      clearTimeout(fallback);
      kill9(server).then(() => resolve({ compacting, events }), reject);
    };
    const watcher = watch(dir, (_event, file) => {
      if (!compacting && file === 'snapshot.tmp') compacting = true;
      if (!compacting) return;
      events++;
      if (events >= target) finish();
      else if (events === 1) setTimeout(finish, extraMs + 20);
    });
    const fallback = setTimeout(finish, 3_000);
  });
}

test('directories left by a crash between the steps of a compaction recover to the same state', { points: 3 }, async (h) => {
  const { server, dir } = await startServer(h);
  const alice = await Peer.connect(h, server, { name: 'alice' });
  await createAccount(alice, 'alice');
  await createAccount(alice, 'bob');
  await login(alice, 'alice');
  const messages: Msg[] = [];
  for (let i = 1; i <= 5; i++) messages.push({ from: 'alice', id: await sendMessage(alice, 'bob', `message ${i}`), text: `message ${i}` });
  await stopCleanly(server);

  // The grader compacts by hand, as spec section 9 says: a first snapshot holds the two accounts,
  // the log the five messages after it; a second snapshot would hold everything up to the third.
  const logBytes = readDataFile(path.join(dir, 'log'));
  const records = readLog(dir);
  const accounts = records.filter((r) => r.type === R.ACCOUNT_CREATED);
  const number = (name: string) => accounts.find((r) => r.payload.get('name') === name)!.index;
  const snapshotAt = (index: bigint, queue: Msg[]) => encodeRecord(R.SNAPSHOT, map({
    accounts: ['alice', 'bob'].map((name) => map({
      name,
      number: number(name),
      password: accounts.find((r) => r.payload.get('name') === name)!.payload.get('password')!,
      queue: name === 'bob' ? queue.map((m) => map({ from: m.from, id: m.id, sender: number('alice'), text: m.text })) : [],
    })),
    index,
  }));
  const logAfter = (index: bigint) => Buffer.concat(records.filter((r) => r.index > index).map((r) => logBytes.subarray(r.offset, r.end)));
  const S0 = accounts[accounts.length - 1]!.index;
  const S = messages[2]!.id;
  const [oldSnapshot, oldLog] = [snapshotAt(S0, []), logAfter(S0)];
  const [snapshot, after] = [snapshotAt(S, messages.slice(0, 3)), logAfter(S)];
  const images: { name: string; files: Record<string, Buffer | undefined> }[] = [
    { name: 'a crash while snapshot.tmp was written', files: { 'snapshot.tmp': snapshot.subarray(0, h.random.int(1, snapshot.length)), snapshot: oldSnapshot, log: oldLog } },
    { name: 'a crash after snapshot.tmp was synced, before its rename', files: { 'snapshot.tmp': snapshot, snapshot: oldSnapshot, log: oldLog } },
    { name: 'a crash after the snapshot got its name, before the log was replaced', files: { snapshot, log: oldLog, 'log.tmp': after.subarray(0, h.random.int(0, after.length)) } },
    { name: 'a crash after the log was replaced', files: { snapshot, log: after } },
  ];
  for (const image of images) {
    for (const file of ['snapshot', 'snapshot.tmp', 'log', 'log.tmp']) rmSync(path.join(dir, file), { force: true });
    for (const [file, bytes] of Object.entries(image.files)) if (bytes) writeDataFile(path.join(dir, file), bytes);
    h.note(`the grader lays out the data directory as ${image.name}: ${Object.entries(image.files).filter(([, b]) => b).map(([f, b]) => `${f} (${b!.length} bytes)`).join(', ')}`);
    await server.restart();
    const bob = await Peer.connect(h, server, { name: `bob, after ${image.name}` });
    await login(bob, 'bob', 5).catch((error: Error) => {
      throw new GradeFailure(`after ${image.name}, bob must have all 5 messages waiting (spec section 9, the table): ${error.message}`);
    });
    for (const leftover of ['snapshot.tmp', 'log.tmp']) {
      if (existsSync(path.join(dir, leftover))) throw new GradeFailure(`after ${image.name}, recovery left ${leftover} in the data directory: it deletes it (spec section 8, step 5)`);
    }
    const id = await sendMessage(bob, 'alice', `after ${image.name}`);
    if (id <= messages[4]!.id) throw new GradeFailure(`after ${image.name}, a new message got id ${id}, not above the last record's index ${messages[4]!.id}`);
    await stopCleanly(server);
    // The next image starts from the same five messages: forget what this round added.
  }
});
