// Durability is checked, not assumed. `kill -9` cannot tell a sync from a write that sits in the
// page cache (the kernel still writes it out), so phase 5.2 passes a server that acknowledges
// before it syncs. Here the server runs under strace, and the grader checks the order of its
// system calls: the write of a record, then a sync of the log, then the write of the reply that
// acknowledges it; and in a compaction, the snapshot synced before its rename, the rename made
// durable before the log is replaced. Linux only, with strace installed; anywhere else the phase
// says why and scores nothing.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import lab from './lab.js';
import { GradeFailure, phase, type Harness } from '../../../grader/harness/index.js';
import { Peer, T, createAccount, describeMessages, expectUnwrittenWaiting, login, loginAnyCount, map, pushPastTheKernel, readAll, resetRightAfter, sendMessage, startServer, stopCleanly, takePushes } from '../tests/durable.js';
import { intactAt } from '../tests/logfile.js';
import { decodeValue } from '../../03-protocol/tests/wire.js';
import { connectTrace, expectRetries } from '../../../grader/harness/attempts.js';
import { paths, parseTrace, straceCommand, syncs, target, writes, written, type Call } from './strace.js';
import { traceStates } from './crash-trace.js';
import { checkCrashState, withLock, type Crash, type Recording } from '../tests/crash.js';
import { checkAll, exploreCount, pick } from '../../../grader/explore/crash-states.js';

const test = phase(lab, '5.7');

/** The strace command that writes its record to `file`; fails the test, saying why, where there is none. */
async function straceOrFail(file: string): Promise<string[]> {
  const prefix = await straceCommand(file);
  if (prefix) return prefix;
  throw new GradeFailure(
    process.platform === 'linux'
      ? 'this phase needs strace, which is not installed here (apt-get install strace): it scores nothing without it, since nothing else can see a sync'
      : `this phase runs the server under strace, which exists only on Linux (this is ${process.platform}): it scores nothing here`,
  );
}

async function tracedServer(h: Harness, compactAfter?: number) {
  const file = path.join(h.logDir, 'strace.txt');
  const prefix = await straceOrFail(file);
  const { server, dir } = await startServer(h, { compactAfter, prefix, readyTimeoutMs: 20_000 });
  return { server, dir, file };
}

function label(call: Call): string {
  return `${call.name}(${target(call) || call.args.slice(0, 60)}) on line ${call.start + 1} of the trace`;
}

test('every SENT and ACCOUNT_CREATED, and every push or READ reply showing a message, follows a sync of the log made after the record was written', { points: 5 }, async (h) => {
  const { server, dir, file } = await tracedServer(h);
  const setup = await Peer.connect(h, server, { name: 'setup' });
  for (const name of ['alice', 'bob', 'carol', 'inbox', 'online']) await createAccount(setup, name);
  // "online" is logged in: the messages to it are pushed (section 6: held behind their records too).
  const online = await Peer.connect(h, server, { name: 'online' });
  await login(online, 'online');
  await Promise.all(['alice', 'bob', 'carol'].map(async (name) => {
    const peer = await Peer.connect(h, server, { name });
    await login(peer, name);
    for (let round = 0; round < 5; round++) {
      // Three in flight at once, so that one sync may serve several.
      for (let i = 0; i < 3; i++) peer.send(T.SEND, map({ to: i === 1 ? 'online' : 'inbox', text: `${name} ${round}.${i}` }));
      for (let i = 0; i < 3; i++) {
        const frame = await peer.readReply(`SENT for ${name}'s message ${round}.${i}`);
        if (frame.type !== BigInt(T.SENT)) throw new GradeFailure(`${name} expected SENT and got ${peer.describe(frame)}`);
      }
    }
  }));
  // The inbox reads what waits for it: a MESSAGES reply shows messages too.
  const inbox = await Peer.connect(h, server, { name: 'inbox' });
  await login(inbox, 'inbox', 30);
  await inbox.call(T.READ, map({ limit: 30n }), T.MESSAGES, 'MESSAGES with the inbox\'s 30 messages');
  await online.ping('every push to "online" arrived');
  await stopCleanly(server);

  const logPath = path.join(dir, 'log');
  const calls = parseTrace(readFileSync(file, 'utf8'));
  // Where each record's bytes went to the log: by index (SEND) and by name (ACCOUNT_CREATED).
  const logWrites: { call: Call; bytes: Buffer }[] = calls.filter((c) => writes.has(c.name) && target(c) === logPath).map((call) => ({ call, bytes: written(call) }));
  const recordWrite = new Map<string, Call>();
  let stream = Buffer.alloc(0);
  const owners: Call[] = [];
  for (const { call, bytes } of logWrites) {
    stream = Buffer.concat([stream, bytes]);
    for (let i = 0; i < bytes.length; i++) owners.push(call);
  }
  for (let at = 0; ; ) {
    const found = intactAt(stream, at);
    if (!found) break;
    const payload = decodeValue(stream.subarray(at + 9, found.end));
    if (payload instanceof Map) {
      const type = stream[at + 8];
      // The call that wrote the record's last byte: only then is all of it written.
      const by = owners[found.end - 1]!;
      if (type === 2) recordWrite.set(`id ${payload.get('index')}`, by);
      if (type === 1) recordWrite.set(`account ${payload.get('name')}`, by);
    }
    at = found.end;
  }
  const logSyncs = calls.filter((c) => syncs.has(c.name) && target(c) === logPath);
  // Every frame the server wrote, with the call that wrote its first byte.
  let checked = 0;
  const sockets = bytesBySocket(calls);
  for (const [socket, s] of sockets) {
    for (let at = 0; at + 12 <= s.bytes.length; ) {
      const type = Number(s.bytes.readBigInt64BE(at));
      const length = s.bytes.readUInt32BE(at + 8);
      if (at + 12 + length > s.bytes.length) break;
      const reply = s.owners[at]!;
      // What the frame shows: the record each key names must be synced before the frame's first byte is written.
      const shown: { key: string; what: string }[] = [];
      if (([T.SENT, T.ACCOUNT_CREATED, T.MESSAGE, T.MESSAGES] as number[]).includes(type)) {
        const value = decodeValue(s.bytes.subarray(at + 12, at + 12 + length));
        if (value instanceof Map) {
          if (type === T.SENT) shown.push({ key: `id ${value.get('id')}`, what: `the SENT for message ${value.get('id')}` });
          if (type === T.ACCOUNT_CREATED) shown.push({ key: `account ${value.get('name')}`, what: `the ACCOUNT_CREATED for ${value.get('name')}` });
          if (type === T.MESSAGE) shown.push({ key: `id ${value.get('id')}`, what: `the push (MESSAGE) of message ${value.get('id')}` });
          const messages = value.get('messages');
          if (type === T.MESSAGES && Array.isArray(messages)) {
            for (const m of messages) if (m instanceof Map) shown.push({ key: `id ${m.get('id')}`, what: `the MESSAGES reply holding message ${m.get('id')}` });
          }
        }
      }
      at += 12 + length;
      for (const { key, what } of shown) {
        checked++;
        const write = recordWrite.get(key);
        if (!write) throw new GradeFailure(`the server wrote ${what} to ${socket} (${label(reply)}), but the trace shows no write of its record to ${logPath} at all`);
        if (write.end > reply.start) throw new GradeFailure(`the server wrote ${what} (${label(reply)}) before it had written the record to the log (${label(write)}): a frame that shows a change is sent only after its record is written and synced (spec section 6)`);
        const sync = logSyncs.find((c) => c.start > write.end && c.end < reply.start);
        if (!sync) {
          throw new GradeFailure(
            `the server wrote ${what} (${label(reply)}) with no fsync or fdatasync of the log between the record's write (${label(write)}) and that frame. ` +
              'The record was in the operating system\'s memory, not on the disk: a power cut would take back a change someone was shown (spec section 6: nothing a record says is visible before the record is synced).',
          );
        }
      }
    }
  }
  if (checked < 60) throw new GradeFailure(`the trace shows only ${checked} SENT, ACCOUNT_CREATED, MESSAGE and MESSAGES frames' worth of changes written to sockets, where the grader received 60 or more: the server writes to its sockets with a system call the grader does not trace (it traces write, writev, sendto, sendmsg and the pwrite family)`);
});

test('a compaction syncs the snapshot before renaming it, and replaces the log only after the rename is durable', { points: 2 }, async (h) => {
  const { server, dir, file } = await tracedServer(h, 5);
  const alice = await Peer.connect(h, server, { name: 'alice' });
  await createAccount(alice, 'alice');
  await login(alice, 'alice');
  for (let i = 0; i < 24; i++) await sendMessage(alice, 'alice', `message ${i}`).then(() => alice.pushes.splice(0));
  await stopCleanly(server);

  const calls = parseTrace(readFileSync(file, 'utf8'));
  const cwd = dir;
  const snapshot = path.join(dir, 'snapshot');
  const log = path.join(dir, 'log');
  let compactions = 0;
  let durableSnapshotSince = false;
  let renamedAt: Call | undefined;
  for (const [i, call] of calls.entries()) {
    const named = ['rename', 'renameat', 'renameat2', 'unlink', 'unlinkat', 'truncate', 'openat', 'open'].includes(call.name) ? paths(call, cwd) : [];
    if (call.name.startsWith('rename') && named[1] === snapshot) {
      const source = named[0]!;
      const lastWrite = calls.slice(0, i).reverse().find((c) => writes.has(c.name) && target(c) === source);
      const synced = calls.slice(0, i).some((c) => syncs.has(c.name) && target(c) === source && (!lastWrite || c.start > lastWrite.end));
      if (!synced) throw new GradeFailure(`the server renamed ${source} to snapshot (${label(call)}) without syncing it after its last write: a crash could leave a snapshot whose bytes never reached the disk (spec section 9, step 1)`);
      renamedAt = call;
      durableSnapshotSince = false;
      compactions++;
      continue;
    }
    if (renamedAt && syncs.has(call.name) && target(call) === dir) {
      durableSnapshotSince = true;
      renamedAt = undefined;
    }
    const replacesLog =
      (call.name.startsWith('rename') && named[1] === log) ||
      (call.name.startsWith('unlink') && named[0] === log) ||
      (call.name === 'truncate' && named[0] === log) ||
      (call.name === 'ftruncate' && target(call) === log) ||
      ((call.name === 'openat' || call.name === 'open') && named[0] === log && /O_TRUNC/.test(call.args));
    if (replacesLog) {
      if (!durableSnapshotSince) {
        throw new GradeFailure(
          `the server replaced or emptied the log (${label(call)}) ${renamedAt ? 'after renaming the snapshot but before syncing the directory' : 'with no snapshot renamed and synced before it'}: a crash then loses every record since the previous snapshot (spec section 9, the order of the steps)`,
        );
      }
      durableSnapshotSince = false;
    }
  }
  if (compactions < 3) throw new GradeFailure(`with --compact-after 5 and 26 records, the trace shows ${compactions} snapshot renames; the grader expected at least 3 compactions`);
});

// The directories a power cut could leave at each reply and each step of a compaction, built
// from the trace (crash-trace.ts): 12 by default, two at a time; --explore N runs N.
const traced = exploreCount(12);

test('power cuts at every point of the system-call record: what was synced before each reply recovers it, names included', { points: 3, timeoutMs: Math.max(90_000, 40_000 + traced * 2_500) }, async (h) => {
  const { server, dir, file } = await tracedServer(h, 5);
  const setup = await Peer.connect(h, server, { name: 'setup' });
  const senders = ['alice', 'bob', 'dave'];
  for (const name of [...senders, 'inbox']) await createAccount(setup, name);
  const texts = new Map<bigint, { from: string; text: string }>();
  await Promise.all(senders.map(async (name) => {
    const peer = await Peer.connect(h, server, { name });
    await login(peer, name);
    for (let round = 0; round < 4; round++) {
      // Two in flight at once, so that one sync may serve several.
      const batch = [0, 1].map((i) => `${name} ${round}.${i} ${'y'.repeat(h.random.int(0, 30))}`);
      for (const text of batch) peer.send(T.SEND, map({ to: 'inbox', text }));
      for (const text of batch) {
        const frame = await peer.readReply(`SENT for ${JSON.stringify(text)}`);
        const value = peer.decode(frame, 'a SENT');
        if (frame.type !== BigInt(T.SENT) || !(value instanceof Map) || typeof value.get('id') !== 'bigint') throw new GradeFailure(`${name} expected SENT and got ${peer.describe(frame)}`);
        texts.set(value.get('id') as bigint, { from: name, text });
      }
    }
  }));
  const deadPid = server.pid ?? 0;
  await stopCleanly(server);

  const calls = parseTrace(readFileSync(file, 'utf8'));
  // Where each acknowledgement left the server: the line of the write of its reply.
  const recording: Recording = { images: [], sent: new Map(), consumed: new Map(), withRecipient: new Set(), accounts: new Map(), records: new Map(), compactAfter: 5, deadPid };
  const points = new Map<number, string>();
  const sockets = bytesBySocket(calls);
  for (const s of sockets.values()) {
    for (let at = 0; at + 12 <= s.bytes.length; ) {
      const type = Number(s.bytes.readBigInt64BE(at));
      const length = s.bytes.readUInt32BE(at + 8);
      if (at + 12 + length > s.bytes.length) break;
      const line = s.owners[at]!.start;
      const value = type === T.SENT || type === T.ACCOUNT_CREATED ? decodeValue(s.bytes.subarray(at + 12, at + 12 + length)) : undefined;
      at += 12 + length;
      if (!(value instanceof Map)) continue;
      if (type === T.SENT) {
        const id = value.get('id') as bigint;
        const sent = texts.get(id);
        if (!sent) continue;
        recording.sent.set(id, { id, from: sent.from, to: 'inbox', text: sent.text, step: line });
        points.set(line, `just after the server wrote the SENT for message ${id} (line ${line + 1} of the trace)`);
      } else {
        const name = String(value.get('name'));
        recording.accounts.set(name, { created: line });
        points.set(line, `just after the server wrote the ACCOUNT_CREATED for ${name} (line ${line + 1} of the trace)`);
      }
    }
  }
  for (const call of calls) {
    if (call.name.startsWith('rename') || (syncs.has(call.name) && target(call) === dir)) points.set(call.end, `just after ${call.name}(${paths(call, dir).map((p) => path.basename(p)).join(', ') || 'the directory'}) on line ${call.end + 1} of the trace`);
  }
  const acks = new Set([...recording.sent.values()].map((m) => m.step).concat([...recording.accounts.values()].map((a) => a.created)));
  const states: Crash[] = [];
  for (const point of traceStates(calls, dir, dir, points, h.random)) {
    const acked = point.line;
    states.push({ name: `a power cut ${point.what}, keeping only what was synced`, files: withLock(point.synced, deadPid), at: states.length, priority: acks.has(point.line) ? 2 : 1, acked });
    states.push({ name: `a power cut ${point.what}, keeping some of what was not synced`, files: withLock(point.random, deadPid), at: states.length, priority: 0, acked });
  }
  const chosen = pick(states, traced, h.random);
  h.note(`${states.length} crash states at ${points.size} points of the trace (${acks.size} replies); the server starts on ${chosen.length} of them (seed ${h.config.seed}; --explore N for more)`);
  await checkAll(chosen, 2, (state, n) => checkCrashState(h, recording, state, n, chosen.length));
});

// Spec section 7: a frame never written delivered nothing. The window between a push being made
// and being written is the sync it waits for, a few milliseconds; strace stretches every sync of
// the server to `slowSyncMs` (it delays each fsync and fdatasync as it enters), so that a reset
// of the recipient sent right after the SEND reaches the server while the push is surely held.
// No frame can be written before the sync ends, so the grader never counts a frame that was
// written and lost in the reset against the server. A round whose reset left the grader later
// than half a sync after its request (the grader's own process stalled) proves nothing and is
// not judged.
const slowSyncMs = 200;

test('frames held for the sync when their connection resets delivered nothing: the messages wait, in their order', { points: 3 }, async (h) => {
  const file = path.join(h.logDir, 'strace-slow-syncs.txt');
  await straceOrFail(file);
  const slow = ['strace', '-f', '-qq', '-e', 'trace=fsync,fdatasync', '-e', `inject=fsync,fdatasync:delay_enter=${slowSyncMs * 1000}`, '-o', file];
  const { server } = await startServer(h, { prefix: slow, readyTimeoutMs: 20_000 });
  const alice = await Peer.connect(h, server, { name: 'alice' });
  await createAccount(alice, 'alice');
  await createAccount(alice, 'bob');
  await login(alice, 'alice');
  h.note(`every sync of the server takes ${slowSyncMs} ms more (strace): a push waits that long for its record`);
  let waiting: { id: bigint; text: string } | undefined;
  // Whether the last round counts: its reset went out well within the sync.
  let judged = true;
  for (let round = 1; round <= 5; round++) {
    const bob = await Peer.connect(h, server, { name: `bob, connection ${round}` });
    bob.send(T.LOGIN, map({ name: 'bob', password: 'pw-bob' }));
    const frame = await bob.readReply('LOGGED_IN for bob');
    if (frame.type !== BigInt(T.LOGGED_IN)) throw new GradeFailure(`bob could not log in: ${bob.describe(frame)}`);
    // What the last round's push carried waits for bob now, and nothing else.
    const got = [...takePushes(bob), ...(await readAll(bob))];
    const want = waiting ? [{ from: 'alice', ...waiting }] : [];
    const excused = !judged && got.length === 0;
    if (!excused && (got.length !== want.length || got.some((m, i) => m.id !== want[i]!.id || m.text !== want[i]!.text))) {
      throw new GradeFailure(
        `bob logged in again and found ${got.length ? describeMessages(got) : 'nothing'}; expected ${want.length ? describeMessages(want) : 'nothing'}. ${waiting ? `Alice sent message ${waiting.id} to bob, and bob's last connection was reset right after, while any push of it still had to wait for the sync of its record (each sync takes ${slowSyncMs} ms more here): such a push was never written, so it delivered nothing, and the message waits for bob's next login (spec section 7). A server that wrote the push before the sync ended breaks section 6 instead` : ''}`,
      );
    }
    const text = `pushed, then reset ${round}`;
    // The SEND goes out, then at once bob's reset. The server usually reads the SEND first and
    // makes the push, which waits for the slow sync; the reset comes long before that ends. (If it
    // reads the reset first, bob is offline and the message simply waits: that passes too.)
    const { reply, inTime } = await resetRightAfter(() => sendMessage(alice, 'bob', text), () => bob.conn.reset(), slowSyncMs / 2);
    waiting = { id: await reply, text };
    judged = inTime;
    if (!inTime) h.note(`round ${round} is not judged: the grader reset bob's connection more than ${slowSyncMs / 2} ms after the SEND (its own process was slow)`);
  }
  const last = await loginAnyCount(h, server, 'bob', 'after the last reset');
  const got = [...takePushes(last), ...(await readAll(last))];
  if (!(got.length === 0 && !judged) && (got.length !== 1 || got[0]!.id !== waiting!.id)) {
    throw new GradeFailure(`bob logged in after the last reset and found ${got.length ? describeMessages(got) : 'nothing'}; expected message ${waiting!.id}, sent just before bob's connection was reset: a push of it that waited for its sync was never written (spec section 7)`);
  }

  // A READ reply too. Three messages wait for carol; she sends herself one and reads two at once,
  // so that the reply waits behind the SENT, which waits for the sync; a message from alice comes
  // meanwhile, and carol's connection is reset. The reply was never written: the two it showed
  // wait again in their place by id, ahead of the ones that came after them.
  await createAccount(alice, 'carol');
  for (let round = 1; round <= 3; round++) {
    const waitingTexts = [1, 2, 3].map((i) => `waiting ${round}.${i}`);
    const texts = [...waitingTexts, `to herself ${round}`, `meanwhile ${round}`];
    for (const text of waitingTexts) await sendMessage(alice, 'carol', text);
    const carol = await loginAnyCount(h, server, 'carol', `before reset ${round}`);
    const { reply, inTime } = await resetRightAfter(
      async () => {
        carol.send(T.SEND, map({ to: 'carol', text: texts[3]! }));
        carol.send(T.READ, map({ limit: 2n }));
        return sendMessage(alice, 'carol', texts[4]!);
      },
      () => carol.conn.reset(),
      slowSyncMs / 2,
    );
    await reply;
    const again = await loginAnyCount(h, server, 'carol', `after reset ${round}`);
    const found = [...takePushes(again), ...(await readAll(again))];
    const byId = found.every((m, i) => i === 0 || m.id > found[i - 1]!.id);
    if (!inTime) h.note(`round ${round} of carol's is not judged: the grader reset her connection more than ${slowSyncMs / 2} ms after her READ (its own process was slow)`);
    else if ([...found.map((m) => m.text)].sort().join('\n') !== [...texts].sort().join('\n') || !byId) {
      throw new GradeFailure(
        `carol logged in after her connection was reset and found ${found.length ? describeMessages(found) : 'nothing'}; expected ${texts.map((t) => JSON.stringify(t)).join(', ')}, oldest id first. Her READ's reply showed the first two and waited behind the SENT for "${texts[3]}", whose record was being synced (each sync takes ${slowSyncMs} ms more here); the reset came first, so the reply was never written: its messages wait again in their place by id, ahead of newer ones (spec section 7)`,
      );
    }
    await again.conn.reset();
  }
});

// Spec section 7 once more, with nothing slowed: pushes to a client that stopped reading
// (durable.ts, pushPastTheKernel).
test('pushes held for a client that stopped reading delivered nothing when its connection resets: they wait for its next login', { points: 2 }, async (h) => {
  const { server } = await startServer(h);
  const alice = await Peer.connect(h, server, { name: 'alice' });
  await createAccount(alice, 'alice');
  await createAccount(alice, 'bob');
  await login(alice, 'alice');
  const bob = await Peer.connect(h, server, { name: 'bob, who stops reading' });
  await login(bob, 'bob');
  const sent = await pushPastTheKernel(h, bob, (text) => sendMessage(alice, 'bob', text));
  await expectUnwrittenWaiting(await loginAnyCount(h, server, 'bob', 'after the reset'), sent, 'spec section 7');
});

// Spec section 10, rule 1: while the server is away the client tries again at least every 500
// ms (grader/harness/attempts.ts, expectRetries).
test('while the server is away the client tries to connect again at least every 500 ms', { points: 2 }, async (h) => {
  const file = path.join(h.logDir, 'strace-client.txt');
  await straceOrFail(file);
  const fake = await h.fakeServer();
  const client = await h.start('client', { params: { port: fake.port }, prefix: connectTrace(file) });
  await fake.accept({ from: client, what: 'the client to connect', timeoutMs: 20_000 });
  await expectRetries(h, client, file, [fake], 'the server', 'spec section 10, rule 1');
});

/** What the server wrote to each socket, in order, with the call that wrote each byte. */
function bytesBySocket(calls: Call[]): Map<string, { bytes: Buffer; owners: Call[] }> {
  const sockets = new Map<string, { bytes: Buffer; owners: Call[] }>();
  for (const call of calls.filter((c) => writes.has(c.name) && target(c).startsWith('TCP'))) {
    const s = sockets.get(target(call)) ?? { bytes: Buffer.alloc(0), owners: [] };
    const bytes = written(call);
    s.bytes = Buffer.concat([s.bytes, bytes]);
    for (let i = 0; i < bytes.length; i++) s.owners.push(call);
    sockets.set(target(call), s);
  }
  return sockets;
}
