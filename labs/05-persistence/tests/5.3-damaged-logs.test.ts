import path from 'node:path';
import lab from '../lab.js';
import { GradeFailure, phase, type Harness, type Proc } from '../../../grader/harness/index.js';
import { appendBytes, digestChanges, fileDigests, flipByte, truncateFile } from '../../../grader/harness/files.js';
import { Peer, T, createAccount, map, describeMessages, expectRead, login, readAll, relogin, restartExpectingRefusal, sendMessage, startServer, stopCleanly, type Msg } from './durable.js';
import { readLog, readLogBytes, type Rec } from './logfile.js';
import { checkRefusal, crashStates, damage, damageKinds, recordWorkload, type Damaged } from './crash.js';
import { checkAll, exploreCount } from '../../../grader/explore/crash-states.js';
import { readDataFile } from '../../../grader/harness/datafiles.js';

const test = phase(lab, '5.3');

/** A stopped server whose log holds alice and bob and `count` messages from alice waiting for bob. */
async function stoppedWithMessages(h: Harness, count: number): Promise<{ server: Proc; log: string; messages: Msg[]; records: Rec[] }> {
  const { server, dir } = await startServer(h);
  const alice = await Peer.connect(h, server, { name: 'alice' });
  await createAccount(alice, 'alice');
  await createAccount(alice, 'bob');
  await login(alice, 'alice');
  const messages: Msg[] = [];
  for (let i = 1; i <= count; i++) {
    const text = `message ${i} ${'x'.repeat(h.random.int(0, 60))}`;
    messages.push({ from: 'alice', id: await sendMessage(alice, 'bob', text), text });
  }
  await stopCleanly(server);
  const log = path.join(dir, 'log');
  return { server, log, messages, records: readLog(dir) };
}

/** Requires a line on standard error with "dropped", the byte count and the offset (spec section 8). */
function expectDroppedLine(server: Proc, bytes: number, offset: number): void {
  const lines = server.stderrLines();
  const said = lines.some((line) => /dropped/.test(line) && new RegExp(`\\b${bytes}\\b`).test(line) && new RegExp(`\\b${offset}\\b`).test(line));
  if (!said) {
    throw new GradeFailure(
      `the server recovered from a torn tail, but printed no line on standard error with the word "dropped", the ${bytes} bytes it dropped and the offset ${offset} (spec section 8); its standard error:\n${lines.slice(-8).map((l) => `    ${l}`).join('\n') || '    (nothing)'}`,
    );
  }
}

/** After a torn tail: the server must take new records and restart cleanly on what it wrote. */
async function carriesOn(h: Harness, server: Proc, kept: Msg[], what: string): Promise<void> {
  const bob = await relogin(h, server, 'bob', kept.length);
  const got = await readAll(bob);
  if (got.map((m) => `${m.id}:${m.text}`).join('|') !== kept.map((m) => `${m.id}:${m.text}`).join('|')) {
    throw new GradeFailure(`after ${what}, bob must have exactly the messages before the damage: ${describeMessages(kept)}; he has ${describeMessages(got) || 'none'}`);
  }
  bob.send(T.LOGOUT, map());
  await bob.expectReply(T.LOGGED_OUT, map(), 'LOGGED_OUT for bob');
  const alice = await relogin(h, server, 'alice', 0);
  const text = `written after ${what}`;
  const id = await sendMessage(alice, 'bob', text);
  await stopCleanly(server);
  // A server that appended after the garbage instead of cutting it off cannot start again now.
  await server.restart();
  const again = await relogin(h, server, 'bob', 1);
  await expectRead(again, 10, [{ from: 'alice', id, text }], 0, `MESSAGES with the message sent after ${what}, after one more restart: the log was cut back to its last good record before anything was appended`);
}

test('a record cut short at the end of the log is dropped; the records before it are kept', { points: 4 }, async (h) => {
  const { server, log, messages, records } = await stoppedWithMessages(h, 6);
  const last = records[records.length - 1]!;
  const cut = h.random.int(last.offset + 1, last.end);
  h.note(`the grader cuts the log to ${cut} bytes, ${cut - last.offset} bytes into its last record (offset ${last.offset}, ${last.end - last.offset} bytes)`);
  truncateFile(log, cut);
  await server.restart();
  expectDroppedLine(server, cut - last.offset, last.offset);
  await carriesOn(h, server, messages.slice(0, -1), 'a torn last record');
});

test('garbage after the last record is dropped', { points: 3 }, async (h) => {
  const { server, log, messages } = await stoppedWithMessages(h, 4);
  const size = readDataFile(log).length;
  const garbage = Buffer.from(Array.from({ length: h.random.int(1, 200) }, () => h.random.int(0, 256)));
  h.note(`the grader appends ${garbage.length} random bytes to the log (seeded)`);
  appendBytes(log, garbage);
  await server.restart();
  expectDroppedLine(server, garbage.length, size);
  await stopCleanly(server);
  // A block of zeros, as a file system can leave after a power cut.
  const zeros = 4096 - (readDataFile(log).length % 4096);
  appendBytes(log, Buffer.alloc(zeros));
  h.note(`the grader appends ${zeros} zero bytes to the log`);
  await server.restart();
  expectDroppedLine(server, zeros, size);
  await carriesOn(h, server, messages, 'garbage after the last record');
});

test('a flipped byte in the last record: that record is dropped', { points: 3 }, async (h) => {
  const { server, log, messages, records } = await stoppedWithMessages(h, 5);
  const last = records[records.length - 1]!;
  const at = h.random.int(last.offset, last.end);
  h.note(`the grader flips byte ${at} of the log: byte ${at - last.offset} of its last record (seeded)`);
  flipByte(log, at);
  await server.restart();
  expectDroppedLine(server, last.end - last.offset, last.offset);
  await carriesOn(h, server, messages.slice(0, -1), 'a damaged last record');
});

test('a flipped byte in a middle record: the server refuses to start, names the offset, and changes nothing', { points: 6 }, async (h) => {
  const { server, log, records } = await stoppedWithMessages(h, 6);
  const dir = path.dirname(log);
  const before = readDataFile(log);
  // Once in a header (crc, length or type), once in a payload; each time in a record with records after it.
  for (const where of ['header', 'payload'] as const) {
    const victim = records[h.random.int(1, records.length - 1)]!;
    const at = where === 'header' ? victim.offset + h.random.int(0, 9) : h.random.int(victim.offset + 9, victim.end);
    flipByte(log, at);
    h.note(`the grader flips byte ${at} of the log, in the ${where} of the record at offset ${victim.offset} (seeded); ${records.length - 1 - records.indexOf(victim)} intact records follow it`);
    const reading = readLogBytes(readDataFile(log));
    if (reading.end !== victim.offset || reading.intactAfter === undefined) throw new Error(`the damage did not make record ${victim.offset} the first bad one`);
    const digests = withoutLock(fileDigests(dir));
    const stderr = await restartExpectingRefusal(server, `the record at offset ${victim.offset} is damaged and intact records follow it`);
    const named = stderr.some((line) => /\blog\b/.test(line) && new RegExp(`\\b${victim.offset}\\b`).test(line));
    if (!named) {
      throw new GradeFailure(
        `the server refused to start, rightly, but no line on its standard error names the file "log" and the offset ${victim.offset} of the damaged record (spec section 8); its standard error:\n${stderr.slice(-6).map((l) => `    ${l}`).join('\n') || '    (nothing)'}`,
      );
    }
    const changes = digestChanges(digests, withoutLock(fileDigests(dir)));
    if (changes.length > 0) throw new GradeFailure(`a server that refuses to start must leave every file as it was (spec section 8), but: ${changes.join('; ')}`);
    flipByte(log, at);
  }
  if (!readDataFile(log).equals(before)) throw new Error('the log was not restored');
});

function withoutLock(digests: Map<string, string>): Map<string, string> {
  digests.delete('LOCK');
  return digests;
}

// Directories a crash could leave (tests/crash.ts), damaged as no crash can: one of each kind of
// damage (16) by default; --explore N runs N, the kinds in turn.
const damaged = exploreCount(damageKinds.length);

test('damage in directories a crash left: the server refuses, names the file and offset, and leaves every file as it was, twice', { points: 4, timeoutMs: Math.max(60_000, 30_000 + damaged * 2_500) }, async (h) => {
  const recording = await recordWorkload(h, { steps: 24, compactAfter: 6 });
  const states = h.random.shuffle(crashStates(recording, h.random));
  const chosen: Damaged[] = [];
  // Some with a compaction's leftovers (snapshot.tmp, log.tmp), which a refusal must leave too.
  const leftovers = states.filter((s) => [...s.files.keys()].some((f) => f.endsWith('.tmp')));
  const candidates = [...leftovers.slice(0, Math.ceil(damaged / 4)), ...states];
  // The kinds in turn, each on the next state with room for it (a kind no state has room for is passed over).
  for (let k = 0; chosen.length < damaged && k < damaged * 2; k++) {
    const kind = damageKinds[k % damageKinds.length]!;
    for (let i = 0; i < candidates.length; i++) {
      const d = damage(candidates[(k + i) % candidates.length]!, h.random, kind);
      if (d) {
        chosen.push(d);
        break;
      }
    }
  }
  h.note(`${chosen.length} damaged directories (seed ${h.config.seed}; --explore N for more)`);
  const started = Date.now();
  await checkAll(chosen, 2, (state, n) => checkRefusal(h, state, n, chosen.length));
  h.note(`${chosen.length} refusals as the spec says, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
