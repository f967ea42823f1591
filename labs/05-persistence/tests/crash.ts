// Power cuts at every point of a workload (spec/05-persistence.md, sections 6 to 9). The grader
// runs a workload of one request at a time against the server (accounts made and deleted,
// messages to offline and online accounts, reads, deletions, compactions every few records),
// reads the data directory after each acknowledged request, and builds from those images the
// directories a power cut could have left between two of them (grader/explore/crash-states.ts):
// the log cut at any byte of what was appended since, with garbage after it, and each step of a
// compaction (spec section 9's table). It starts the server on each and checks what it recovers:
//   - every acknowledged message is there, once, with its id, unless the directory holds the
//     record of its delivery or deletion (spec sections 6 and 7);
//   - the server's state is exactly what the files say (the grader's own reading of section 8);
//   - every account acknowledged and not deleted logs in; the next message's id is above every
//     index the directory holds (section 1).
// Phase 5.3 damages the same directories as the spec calls fatal and checks the refusal.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Harness, Proc } from '../../../grader/harness/index.js';
import { GradeFailure } from '../../../grader/harness/index.js';
import { cuts, imageChanges, readImage, tornTail, writeImage, type CrashState, type Image } from '../../../grader/explore/crash-states.js';
import type { Random } from '../../../grader/harness/random.js';
import { Peer, T, asMessage, createAccount, describeMessages, login, map, sendMessage, startServer, type Msg } from './durable.js';
import { kill9 } from './history.js';
import { R, encodeRawRecord, encodeRecord, headerBytes, readLogBytes, recordName, recoveredState, type Rec, type State } from './logfile.js';
import { encodeValue, type ValueMap } from '../../03-protocol/tests/wire.js';

/** What the grader sent and what the server acknowledged, request by request. */
export interface Sent {
  id: bigint;
  from: string;
  to: string;
  text: string;
  /** The request (step) whose reply acknowledged it. */
  step: number;
}

export interface Recording {
  /** The directory after each acknowledged request: images[k] after request k (0: before any). */
  images: { step: number; what: string; image: Image }[];
  sent: Map<bigint, Sent>;
  /** Messages the grader saw leave their queue (read, pushed, deleted, recipient deleted): id to step. */
  consumed: Map<bigint, number>;
  /** Of those, the ones that left because their recipient's account was deleted. */
  withRecipient: Set<bigint>;
  /** Accounts by name: the step that acknowledged the latest one's creation, and its deletion if any. */
  accounts: Map<string, { created: number; deleted?: number }>;
  /** Every record any image held, by index. */
  records: Map<bigint, Rec>;
  compactAfter: number;
  /** A process id no process has: the killed workload server's, for a stale LOCK. */
  deadPid: number;
}

const names = ['alice', 'bob', 'inbox', 'dave', 'eve'];

/** Runs the workload against a fresh server and records the directory after every request. */
export async function recordWorkload(h: Harness, options: { steps: number; compactAfter: number }): Promise<Recording> {
  const { server, dir } = await startServer(h, { compactAfter: options.compactAfter, name: 'server (workload)' });
  const random = h.random;
  const rec: Recording = { images: [], sent: new Map(), consumed: new Map(), withRecipient: new Set(), accounts: new Map(), records: new Map(), compactAfter: options.compactAfter, deadPid: 0 };
  const control = await Peer.connect(h, server, { name: 'control' });
  let step = 0;
  const settle = async (what: string) => {
    // The PONG is answered in order, after what the request appended is synced (and any
    // compaction it set off is over): the directory is at rest. Log before snapshot: a
    // compaction replaces the snapshot first, so this order never sees a newer log with an older snapshot.
    await control.ping(`a PONG after ${what}`);
    rec.images.push({ step, what, image: readImage(dir, ['log', 'snapshot']) });
  };
  await settle('the start');
  for (const name of ['alice', 'bob', 'inbox', 'dave']) {
    step++;
    await createAccount(control, name);
    rec.accounts.set(name, { created: step });
    await settle(`CREATE_ACCOUNT ${name}`);
  }
  // alice and bob stay logged in: a message to them is pushed at once (and its delivery recorded).
  const online = new Map<string, Peer>();
  for (const name of ['alice', 'bob']) {
    const peer = await Peer.connect(h, server, { name });
    await login(peer, name);
    online.set(name, peer);
  }
  const waiting = () => [...rec.sent.values()].filter((m) => !rec.consumed.has(m.id));
  const send = async (from: Peer, fromName: string, to: string) => {
    step++;
    const text = `${fromName} to ${to}, request ${step} ${'x'.repeat(random.int(0, 24))}`;
    const id = await sendMessage(from, to, text);
    rec.sent.set(id, { id, from: fromName, to, text, step });
    if (online.has(to)) rec.consumed.set(id, step);
    from.pushes.splice(0);
    await settle(`SEND ${JSON.stringify(text)} from ${fromName} (id ${id})`);
  };
  const asUser = async <T>(name: string, body: () => Promise<T>): Promise<T> => {
    await login(control, name, waiting().filter((m) => m.to === name).length);
    const out = await body();
    if (rec.accounts.has(name)) {
      control.send(T.LOGOUT, map());
      await control.expectReply(T.LOGGED_OUT, map(), 'LOGGED_OUT');
    }
    return out;
  };
  // eve sends to the inbox and is deleted while her messages wait: they stay (lab 3, section 5.9).
  const eveAt = random.int(2, Math.max(3, options.steps - 8));
  const daveAt = random.int(2, Math.max(3, options.steps - 4));
  for (let i = 0; i < options.steps; i++) {
    if (i === eveAt) {
      step++;
      await createAccount(control, 'eve');
      rec.accounts.set('eve', { created: step });
      await settle('CREATE_ACCOUNT eve');
      await asUser('eve', async () => {
        for (let j = 0; j < 2; j++) await send(control, 'eve', 'inbox');
        step++;
        control.send(T.DELETE_ACCOUNT, map());
        await control.expectReply(T.ACCOUNT_DELETED, map(), 'ACCOUNT_DELETED for eve');
        rec.accounts.get('eve')!.deleted = step;
        rec.accounts.delete('eve');
        await settle('DELETE_ACCOUNT eve, with two of her messages waiting for inbox');
      });
      // Enough records for a compaction while her messages still wait: the snapshot must keep them.
      for (let j = 0; j < options.compactAfter; j++) await send(online.get('bob')!, 'bob', 'dave');
      continue;
    }
    if (i === daveAt) {
      await asUser('dave', async () => {
        step++;
        control.send(T.DELETE_ACCOUNT, map());
        await control.expectReply(T.ACCOUNT_DELETED, map(), 'ACCOUNT_DELETED for dave');
        for (const m of waiting()) {
          if (m.to !== 'dave') continue;
          rec.consumed.set(m.id, step);
          rec.withRecipient.add(m.id);
        }
        rec.accounts.delete('dave');
        await settle('DELETE_ACCOUNT dave');
      });
      step++;
      await createAccount(control, 'dave');
      rec.accounts.set('dave', { created: step });
      await settle('CREATE_ACCOUNT dave, the name again');
      continue;
    }
    const kind = random.pick(['send', 'send', 'send', 'send', 'read', 'delete'] as const);
    if (kind === 'send' || (kind === 'delete' && !waiting().some((m) => m.from === 'alice'))) {
      const fromName = random.pick(['alice', 'bob']);
      // Half of them to someone online: pushed at once, in flight when a compaction runs.
      const other = fromName === 'alice' ? 'bob' : 'alice';
      await send(online.get(fromName)!, fromName, random.pick(['inbox', 'dave', other, other]));
    } else if (kind === 'read') {
      await asUser('inbox', async () => {
        step++;
        const reply = await control.call(T.READ, map({ limit: BigInt(random.int(1, 4)) }), T.MESSAGES, 'MESSAGES for inbox');
        const got = (reply.get('messages') as ValueMap[]).map(asMessage);
        for (const m of got) rec.consumed.set(m.id, step);
        await settle(`READ by inbox (${got.length} messages)`);
      });
    } else {
      const mine = waiting().filter((m) => m.from === 'alice');
      const victim = random.pick(mine);
      const alice = online.get('alice')!;
      step++;
      const reply = await alice.call(T.DELETE_MESSAGES, map({ ids: [victim.id] }), T.DELETED, `DELETED for message ${victim.id}`);
      for (const id of reply.get('ids') as bigint[]) rec.consumed.set(id, step);
      alice.pushes.splice(0);
      await settle(`DELETE_MESSAGES [${victim.id}] by alice`);
    }
  }
  rec.deadPid = server.pid ?? 0;
  await kill9(server);
  for (const { image } of rec.images) {
    const log = image.get('log');
    if (log) for (const r of readLogBytes(log).records) rec.records.set(r.index, r);
  }
  h.note(`the workload: ${step} requests, ${rec.sent.size} messages, ${new Set(rec.images.map((i) => i.image.get('snapshot')?.toString('hex'))).size - 1} snapshots seen, ${rec.images.length} images of the directory`);
  return rec;
}

/** Offsets where the records of a log start. */
function recordStarts(log: Buffer): number[] {
  return readLogBytes(log).records.map((r) => r.offset);
}

export function withLock(files: Image, pid: number): Image {
  const out = new Map([...files].filter(([name]) => name !== 'LOCK'));
  // A crashed server's LOCK: its process is gone (spec section 3: a stale lock).
  out.set('LOCK', Buffer.from(`${pid}\n`));
  return out;
}

/** A crash state, with the last request whose acknowledgement it must keep. */
export interface Crash extends CrashState {
  acked: number;
}

/**
 * Every directory a power cut between two images could leave: the log cut at any byte of what
 * was appended between them, and, when a compaction ran between them, each step of it.
 */
export function crashStates(rec: Recording, random: Random): Crash[] {
  const out: Crash[] = [];
  for (let k = 0; k + 1 < rec.images.length; k++) {
    const before = rec.images[k]!;
    const after = rec.images[k + 1]!;
    const [oldLog, newLog] = [before.image.get('log') ?? Buffer.alloc(0), after.image.get('log') ?? Buffer.alloc(0)];
    const [oldSnap, newSnap] = [before.image.get('snapshot'), after.image.get('snapshot')];
    const add = (name: string, files: Image, priority: number, acked = before.step) => {
      out.push({ name: `${name} (between the reply to request ${before.step}, ${before.what}, and the next)`, files: withLock(files, rec.deadPid), at: out.length, priority, acked });
    };
    const base = new Map([...before.image].filter(([name]) => !name.endsWith('.tmp')));
    const compacted = newSnap !== undefined && !(oldSnap?.equals(newSnap) ?? false);
    if (compacted) {
      const snap = newSnap!;
      const cut = random.int(1, snap.length);
      add(`a crash while snapshot.tmp was written: ${cut} of its ${snap.length} bytes`, new Map([...base, ['snapshot.tmp', snap.subarray(0, cut)]]), 2);
      add('a crash after snapshot.tmp was synced, before its rename', new Map([...base, ['snapshot.tmp', snap]]), 1);
      const withoutLog = new Map([...base, ['snapshot', snap]]);
      const tmpCut = random.int(0, newLog.length + 1);
      add(`a crash after the snapshot got its name, before the log was replaced (log.tmp: ${tmpCut} bytes)`, new Map([...withoutLog, ['log', oldLog], ['log.tmp', newLog.subarray(0, tmpCut)]]), 2);
    }
    const from = compacted || !newLog.subarray(0, oldLog.length).equals(oldLog) ? 0 : oldLog.length;
    const start = compacted ? new Map([...after.image].filter(([name]) => !name.endsWith('.tmp'))) : base;
    for (const c of cuts(from, newLog.length, recordStarts(newLog), random)) {
      const tail = c < newLog.length ? tornTail(random) : Buffer.alloc(0);
      const files = new Map([...start, ['log', Buffer.concat([newLog.subarray(0, c), tail])]]);
      if (compacted && newSnap) files.set('snapshot', newSnap);
      const whole = c === newLog.length;
      const what = whole
        ? `the directory as it was after the reply to request ${after.step}`
        : `the log cut at byte ${c} of ${newLog.length}${tail.length ? `, then ${tail.length} bytes of ${tail.every((b) => b === 0) ? 'zeros' : 'garbage'}` : ''}`;
      // Most wanted: a fresh snapshot alone (what it must hold by itself), then with the log after it cut short.
      const priority = compacted && c === 0 ? 4 : compacted && !whole ? 3 : whole || recordStarts(newLog).includes(c) ? 1 : 0;
      add(what, files, priority, whole ? after.step : before.step);
    }
  }
  // A state must be one the spec says recovers: drop any the grader's own reading calls damaged
  // (a torn tail that happens to hold an intact record).
  return out.filter((s) => readLogBytes(s.files.get('log') ?? Buffer.alloc(0)).intactAfter === undefined);
}

/**
 * Before any crash: the directory at rest after each reply, read by the spec's rules (no server
 * started), holds every message acknowledged by then and not yet seen to leave its queue. A
 * snapshot that drops a kind of waiting message shows here whenever such a message waits across a
 * compaction, whichever crash states are picked.
 */
export function checkImagesAtRest(h: Harness, rec: Recording): void {
  const dir = h.dataDir('at-rest');
  for (const { step, what, image } of rec.images) {
    rmSync(dir, { recursive: true, force: true });
    writeImage(dir, image);
    const state = recoveredState(dir);
    for (const m of rec.sent.values()) {
      const left = rec.consumed.get(m.id);
      if (m.step > step || (left !== undefined && left <= step)) continue;
      const queue = state.accounts.get(m.to)?.queue ?? [];
      if (!queue.some((x) => x.id === m.id)) {
        throw new GradeFailure(
          `after the reply to request ${step} (${what}), the data directory at rest holds, by the spec's reading of its files (snapshot, then log), ${describeMessages(queue as Msg[]) || 'no messages'} for ${m.to}, ` +
            `but not message ${m.id} from ${m.from} (${JSON.stringify(m.text)}), acknowledged at request ${m.step} and not delivered or deleted since. ` +
            `A snapshot holds every message still waiting, whoever sent it (section 9)${replay(h, rec.images.findIndex((i) => i.step === step), image)}`,
        );
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/** The grader's reading of a directory, by spec section 8, or why it cannot read it. */
function reading(dir: string): State {
  return recoveredState(dir, { tornTail: true });
}

/** The consumption record of a message: the first DELIVERED or DELETED naming it, or the deletion of its recipient. */
function consumedBy(rec: Recording, m: Sent): bigint | undefined {
  let best: bigint | undefined;
  for (const [index, r] of rec.records) {
    if (index <= m.id || (best !== undefined && index >= best)) continue;
    const ids = r.payload.get('ids');
    const named = (r.type === R.MESSAGES_DELIVERED || r.type === R.MESSAGES_DELETED) && Array.isArray(ids) && ids.includes(m.id);
    const recipientGone = rec.withRecipient.has(m.id) && r.type === R.ACCOUNT_DELETED && r.payload.get('name') === m.to;
    if (named || recipientGone) best = index;
  }
  return best;
}

/** What a server recovered, seen over the wire: each account's waiting messages, or that it cannot log in. */
async function observe(h: Harness, server: Proc, label: string): Promise<Map<string, Msg[] | string>> {
  const peer = await Peer.connect(h, server, { name: `grader on ${label}` });
  const out = new Map<string, Msg[] | string>();
  for (const name of names) {
    peer.send(T.LOGIN, map({ name, password: `pw-${name}` }));
    const frame = await peer.readReply(`LOGGED_IN or ERROR for ${name}`);
    if (frame.type !== BigInt(T.LOGGED_IN)) {
      const value = peer.decode(frame, 'an ERROR');
      out.set(name, frame.type === BigInt(T.ERROR) && value instanceof Map ? String(value.get('code')) : peer.describe(frame));
      continue;
    }
    const got: Msg[] = [];
    for (;;) {
      const reply = await peer.call(T.READ, map({ limit: 1000n }), T.MESSAGES, `MESSAGES for ${name}`);
      const messages = (reply.get('messages') as ValueMap[]).map(asMessage);
      got.push(...messages);
      if (reply.get('remaining') === 0n || messages.length === 0) break;
    }
    out.set(name, got);
    peer.send(T.LOGOUT, map());
    await peer.expectReply(T.LOGGED_OUT, map(), 'LOGGED_OUT');
  }
  peer.conn.end();
  return out;
}

/** Where a failing state's directory, as the grader built it, is kept, and how to replay it. */
function replay(h: Harness, n: number, files: Image): string {
  const dir = path.join(h.logDir, `crash-state-${n}-as-built`);
  mkdirSync(dir, { recursive: true });
  writeImage(dir, files);
  const explore = process.env.SWITCHBOARD_EXPLORE ? ` --explore ${process.env.SWITCHBOARD_EXPLORE}` : '';
  return `\n  The directory as the grader built it is in ${dir}. Replay: SWITCHBOARD_SEED=${h.config.seed} npm run lab 5 -- --phase ${h.phase.id}${explore}`;
}

/** Starts the server on one crash state and checks what it recovers. */
export async function checkCrashState(h: Harness, rec: Recording, state: Crash, n: number, total: number): Promise<void> {
  const dir = h.dataDir(`crash-state-${n}`);
  writeImage(dir, state.files);
  const label = `crash state ${n} of ${total}`;
  const fail = (text: string): never => {
    throw new GradeFailure(`${label}, ${state.name}: ${text}${replay(h, n, state.files)}`);
  };
  const expected = reading(dir);
  let server: Proc;
  try {
    ({ server } = await startServer(h, { dir, compactAfter: rec.compactAfter, name: `server on ${label}` }));
  } catch (error) {
    if (!(error instanceof GradeFailure)) throw error;
    return fail(`a power cut can leave this directory, and the spec says it recovers (sections 8 and 9), but the server did not start: ${error.message}`);
  }
  try {
    const seen = await observe(h, server, label);
    const lastIndex = expected.lastIndex;
    // The rules over the acknowledgements (sections 6 and 7).
    for (const m of rec.sent.values()) {
      // Its record is in this directory (by the files), or its SENT was written before the crash.
      const inFiles = m.id <= lastIndex;
      const acked = m.step <= state.acked;
      if (!inFiles && !acked) continue;
      if (!inFiles) {
        fail(
          `message ${m.id} from ${m.from} to ${m.to} was acknowledged with SENT before this crash, but the directory's records end at index ${lastIndex}: ` +
            'its record was not on stable storage when the reply went out (spec section 6: synced, and the name of the log made durable by a sync of the directory).',
        );
      }
      const by = consumedBy(rec, m);
      const queue = seen.get(m.to);
      const there = Array.isArray(queue) ? queue.filter((x) => x.id === m.id) : [];
      const mustStay = by === undefined ? !rec.consumed.has(m.id) : by > lastIndex;
      if (mustStay && there.length === 0) {
        const gone = by === undefined ? 'it was never delivered or deleted' : `the record of its delivery or deletion (index ${by}) is not in this directory, whose records end at index ${lastIndex}`;
        fail(
          `message ${m.id} from ${m.from} to ${m.to} (${JSON.stringify(m.text)}) ${acked ? 'was acknowledged with SENT' : 'has its record in this directory'}, and ${gone}, but after recovery ${m.to} ${Array.isArray(queue) ? `has ${describeMessages(queue) || 'no messages'}` : `cannot log in (${queue})`}. ` +
            'Whatever a crash leaves must keep every message until its delivery is recorded (spec sections 6 and 7); a snapshot holds every message still waiting, those in flight included (section 9).',
        );
      }
      if (there.length > 1) fail(`message ${m.id} is waiting ${there.length} times for ${m.to} after recovery: once at most`);
      if (by !== undefined && by <= lastIndex && there.length > 0) fail(`message ${m.id} to ${m.to} is waiting again after recovery, but the directory holds the record (index ${by}) that delivered or deleted it`);
    }
    for (const [name, account] of rec.accounts) {
      if (account.created > state.acked) continue;
      if (!Array.isArray(seen.get(name))) fail(`the account ${name} was acknowledged (request ${account.created}) and never deleted, but after recovery it cannot log in: ${seen.get(name)}`);
    }
    // The state is exactly what the files say (section 8).
    for (const name of names) {
      const want = expected.accounts.get(name);
      const got = seen.get(name)!;
      if (!want) {
        if (Array.isArray(got)) fail(`the directory holds no account ${name} (by the spec's reading of its files), but after recovery ${name} logs in`);
        continue;
      }
      if (!Array.isArray(got)) fail(`the directory holds the account ${name}, but after recovery it cannot log in: ${got}`);
      const line = (list: { id: bigint; from: string; text: string }[]) => list.map((m) => `${m.id}:${m.from}:${m.text}`).join('|');
      if (line(got as Msg[]) !== line(want.queue)) {
        fail(`by the spec's reading of the files (snapshot, then the log's intact records), ${name} has ${describeMessages(want.queue as Msg[]) || 'no messages'} waiting; after recovery the server gives ${describeMessages(got as Msg[]) || 'none'}`);
      }
    }
    // A new account (whatever this directory holds) and a message from it to itself: the next index.
    const peer = await Peer.connect(h, server, { name: `zoe on ${label}` });
    await createAccount(peer, 'zoe');
    await login(peer, 'zoe');
    const id = await sendMessage(peer, 'zoe', `after ${label}`);
    if (id <= lastIndex) fail(`after recovery a new message got id ${id}, but the directory holds records up to index ${lastIndex}: an index never repeats, across compactions and restarts (spec sections 1 and 9)`);
    peer.conn.end();
  } finally {
    await kill9(server);
  }
  rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------- refusals (phase 5.3)

/** A crash state with damage the spec calls fatal: the file and offset the refusal must name. */
export interface Damaged {
  name: string;
  files: Image;
  file: 'log' | 'snapshot';
  offset: number;
}

/**
 * The kinds of damage no crash leaves, each a way a server could take a wrong log for a right one:
 * a byte flipped in a record with records after it, a broken snapshot (with no log beside it too:
 * a refusal must not create one), a gap in the indexes (in the middle, or right after the
 * snapshot: the first record the log must hold is missing), a record repeated (right after itself,
 * or later: its index goes back), and an intact record that is wrong (section 8: unknown type, a
 * field of its type missing, a payload that is not a map, a payload that does not decode), each as
 * the last record and with records after it. Phase 5.3 tries them in turn.
 */
export const damageKinds = [
  'flip', 'unknown type', 'snapshot', 'gap', 'missing field, last', 'repeated', 'undecodable', 'flip', 'not a map, last', 'repeated later',
  'missing field', 'first gone', 'unknown type, last', 'snapshot, no log', 'not a map', 'undecodable, last',
] as const;
export type DamageKind = (typeof damageKinds)[number];

/** Damages a crash state in the way `kind` says, or returns undefined if this state has no room for it. */
export function damage(state: Crash, random: Random, kind: DamageKind): Damaged | undefined {
  const files = new Map(state.files);
  const log = files.get('log') ?? Buffer.alloc(0);
  const records = readLogBytes(log).records;
  const snapshot = files.get('snapshot');
  const snapshotIndex = snapshot ? readLogBytes(snapshot).records[0]?.index ?? 0n : 0n;
  if (kind === 'flip') {
    if (records.length < 2) return undefined;
    const victim = records[random.int(0, records.length - 1)]!;
    const at = random.int(victim.offset, victim.end);
    const bytes = Buffer.from(log);
    bytes[at] = bytes[at]! ^ (1 << random.int(0, 8));
    const read = readLogBytes(bytes);
    if (read.end !== victim.offset || read.intactAfter === undefined) return undefined;
    files.set('log', bytes);
    return { name: `${state.name}, then byte ${at} of the log flipped (in the record at offset ${victim.offset}, with intact records after it)`, files, file: 'log', offset: victim.offset };
  }
  if (kind === 'snapshot' || kind === 'snapshot, no log') {
    if (!snapshot) return undefined;
    // A missing log is an empty one (section 8, step 3), and a refusal must not create it.
    if (kind === 'snapshot, no log') files.delete('log');
    const noLog = kind === 'snapshot, no log' ? ', and the log removed' : '';
    const bytes = Buffer.from(snapshot);
    const how = random.int(0, 3);
    if (how === 0) {
      const at = random.int(0, bytes.length);
      bytes[at] = bytes[at]! ^ 0x40;
      files.set('snapshot', bytes);
      return { name: `${state.name}, then byte ${at} of the snapshot flipped${noLog}`, files, file: 'snapshot', offset: 0 };
    }
    if (how === 1) {
      const cut = random.int(1, bytes.length);
      files.set('snapshot', bytes.subarray(0, cut));
      return { name: `${state.name}, then the snapshot cut to ${cut} of its ${bytes.length} bytes${noLog}`, files, file: 'snapshot', offset: 0 };
    }
    files.set('snapshot', Buffer.concat([bytes, Buffer.from([0, 0, 0, 0])]));
    return { name: `${state.name}, then 4 bytes after the snapshot's record${noLog}`, files, file: 'snapshot', offset: 0 };
  }
  if (kind === 'gap' || kind === 'first gone') {
    // An intact record missing from the log's sequence: the one after it is wrong. 'first gone'
    // removes record S + 1 (record 1 without a snapshot), where the log must start.
    const candidates = records.slice(0, -1).filter((r) => r.index > snapshotIndex);
    if (candidates.length === 0) return undefined;
    const gone = kind === 'first gone' ? candidates[0]! : random.pick(candidates);
    const next = records[records.indexOf(gone) + 1]!;
    files.set('log', Buffer.concat([log.subarray(0, gone.offset), log.subarray(gone.end)]));
    return { name: `${state.name}, then the record at offset ${gone.offset} (index ${gone.index}) cut out of the log: the record after it (index ${next.index}) now starts there`, files, file: 'log', offset: gone.offset };
  }
  if (kind === 'repeated' || kind === 'repeated later') {
    // A copy of a record replay applies, right after itself or after a later record (the last, maybe): its index goes back.
    const later = kind === 'repeated later';
    const candidates = records.filter((r, i) => r.index > snapshotIndex && (!later || i < records.length - 1));
    if (candidates.length === 0) return undefined;
    const copied = random.pick(candidates);
    const after = later ? random.pick(records.slice(records.indexOf(copied) + 1)) : copied;
    const copy = log.subarray(copied.offset, copied.end);
    files.set('log', Buffer.concat([log.subarray(0, after.end), copy, log.subarray(after.end)]));
    const where = after === copied ? 'right after itself' : `after the record at offset ${after.offset} (index ${after.index})`;
    return { name: `${state.name}, then a copy of the record at offset ${copied.offset} (index ${copied.index}) put ${where}: replay meets index ${copied.index} twice`, files, file: 'log', offset: after.end };
  }
  // An intact record that is wrong, in place of one that replay would apply: the last one (a wrong
  // record at the end is no torn tail either), or one with records after it.
  const applied = records.filter((r) => r.index > snapshotIndex);
  const last = kind.endsWith(', last');
  if (applied.length < (last ? 1 : 2)) return undefined;
  const victim = last ? applied[applied.length - 1]! : random.pick(applied.slice(0, -1));
  const body = log.subarray(victim.offset + headerBytes, victim.end);
  let wrong: Buffer;
  let what: string;
  if (kind.startsWith('unknown type')) {
    const type = random.pick([0, 6, 7, 8, 15, 17, 99, 255]);
    wrong = encodeRawRecord(type, body);
    what = `given type ${type}, which no record has`;
  } else if (kind.startsWith('missing field')) {
    const keys = [...victim.payload.keys()].filter((k) => k !== 'index');
    const key = random.pick(keys);
    wrong = encodeRecord(victim.type, new Map([...victim.payload].filter(([k]) => k !== key)));
    what = `without its field "${key}"`;
  } else if (kind.startsWith('not a map')) {
    wrong = encodeRawRecord(victim.type, encodeValue([victim.index]));
    what = 'with a list for its payload';
  } else {
    wrong = encodeRawRecord(victim.type, body.subarray(0, body.length - 1));
    what = 'with its payload cut by one byte (it no longer decodes)';
  }
  // As the last record, it ends the file (a torn tail after it would hide it from a server that drops a wrong last record only at the very end).
  files.set('log', Buffer.concat([log.subarray(0, victim.offset), wrong, last ? Buffer.alloc(0) : log.subarray(victim.end)]));
  return { name: `${state.name}, then the ${recordName(victim.type)} record at offset ${victim.offset} (index ${victim.index}) replaced by an intact record ${what}`, files, file: 'log', offset: victim.offset };
}

/** Starts the server on a damaged directory twice: each time it must refuse, name the file and offset, and leave every file as it was, with no LOCK. */
export async function checkRefusal(h: Harness, state: Damaged, n: number, total: number): Promise<void> {
  const dir = h.dataDir(`damaged-${n}`);
  writeImage(dir, state.files);
  const label = `damaged directory ${n} of ${total}`;
  const fail = (text: string): never => {
    throw new GradeFailure(`${label}, ${state.name}: ${text}${replay(h, n, state.files)}`);
  };
  const expected = new Map([...state.files].filter(([name]) => name !== 'LOCK'));
  for (const attempt of ['first', 'second'] as const) {
    const server = await h.start('server', { name: `server on ${label} (${attempt} start)`, params: { data: dir }, ready: false });
    try {
      await server.expectExit(1, { timeoutMs: 15_000, what: `to refuse to start (exit status 1): ${state.file} is damaged at offset ${state.offset} (spec section 8)` });
    } catch (error) {
      if (!(error instanceof GradeFailure)) throw error;
      fail(`${attempt === 'second' ? 'on the second start, after a first refusal: ' : ''}${error.message}`);
    }
    const line = server.stderrLines().find((l) => new RegExp(`\\b${state.file}\\b`).test(l) && new RegExp(`\\b${state.offset}\\b`).test(l));
    if (!line) fail(`the server refused to start (${attempt} start), rightly, but no line on its standard error names "${state.file}" and the offset ${state.offset} (spec section 8); its standard error:\n${server.stderrLines().slice(-6).map((l) => `    ${l}`).join('\n') || '    (nothing)'}`);
    const after = readImage(dir);
    const changes = imageChanges(expected, after);
    if (changes.length > 0) {
      fail(
        `after the ${attempt} refusal the directory is not as it was: ${changes.join('; ')}. A refusal leaves every file byte for byte as it found it, and removes its LOCK (which replaced the stale one), so that the next start sees the same directory and refuses the same way (spec sections 3 and 8)`,
      );
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
