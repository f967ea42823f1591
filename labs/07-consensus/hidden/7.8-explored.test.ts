import { existsSync } from 'node:fs';
import path from 'node:path';
import lab from './lab.js';
import { GradeFailure, phase, type Harness } from '../../../grader/harness/index.js';
import { scaled } from '../../../grader/harness/wait.js';
import { explore, exploreTimeout } from '../../../grader/explore/explorer.js';
import { imageChanges, readImage } from '../../../grader/explore/crash-states.js';
import { writeDataFile } from '../../../grader/harness/datafiles.js';
import { poll } from '../../../grader/harness/wait.js';
import { laggard, pairCrash, reconnect } from '../../../grader/explore/schedules.js';
import { Scripted } from '../tests/scripted.js';
import { account, heartbeatMs, newCluster, sent, started, statusOf, untilStatus } from '../tests/consensus.js';
import { T7, digests, entryValue, map, show, type LogEntry, type Value } from '../tests/wire.js';

const test = phase(lab, '7.8');

// The first two run short schedules on fresh clusters (grader/explore/schedules.ts); the others
// search the messages one replica of yours gets from replicas the grader plays: every case drawn
// in a seeded order, each judged by the spec's rule. `--explore N` runs N schedules of each.

test('a backup killed with the primary right after it answered APPENDED still holds what it acknowledged', { points: 4, timeoutMs: exploreTimeout(2, 30_000, 90_000) }, async (h) => {
  await explore(h, 2, (s) => pairCrash(h, s, newCluster));
});

test('the primary killed before it tells the backups the commit index: the replica with the record wins, whatever the ids', { points: 3, timeoutMs: exploreTimeout(1, 30_000, 60_000) }, async (h) => {
  await explore(h, 1, (s) => laggard(h, s, newCluster));
});

test('a backup restarted with an empty directory counts only once it holds the records again', { points: 3, timeoutMs: exploreTimeout(1, 60_000, 90_000) }, async (h) => {
  await explore(h, 1, (s) => reconnect(h, s, newCluster));
});

/** Your replica's log in the searches below: last term 2, last index 3. */
const log: LogEntry[] = [account(1, 1, 'alice'), account(2, 1, 'bob'), started(3, 2, 2)];
/** (lastTerm, last) around (2, 3): older, equal and newer terms, shorter, equal and longer logs. */
const around: [number, number][] = [[0, 0], [1, 3], [1, 9], [2, 2], [2, 3], [2, 4], [3, 0], [3, 3]];
const atLeastAsUpToDate = ([lastTerm, last]: [number, number]) => lastTerm > 2 || (lastTerm === 2 && last >= 3);

/** Your replica 1, on this log and term, among replicas 2 and 3 played by the grader. */
async function yours(h: Harness, dir: string, entries: LogEntry[], term: bigint): Promise<Scripted> {
  const scripted = await Scripted.create(h, 3, dir);
  scripted.prepare(entries, term);
  for (const r of scripted.others) r.term = term;
  await scripted.start({ heartbeatMs: scaled(heartbeatMs), timeoutMs: scaled(2_000) });
  return scripted;
}

test('votes and tokens compare logs by last term, then last index: every case around your replica\'s log', { points: 4, timeoutMs: exploreTimeout(1, 30_000, 60_000) }, async (h) => {
  await explore(h, 1, async (s) => {
    const scripted = await yours(h, `s${s.number}-votes`, log, 2n);
    const [two, three] = [scripted.replica(2), scripted.replica(3)];
    // Votes: each request in a term of its own, so that only the logs decide.
    let term = 2n;
    for (const [i, c] of s.random.shuffle(around).entries()) {
      term++;
      const asker = i % 2 === 0 ? two : three;
      asker.send(T7.VOTE_REQUEST, { from: BigInt(asker.id), term, lastTerm: BigInt(c[0]), last: BigInt(c[1]) });
      const vote = await asker.expect(T7.VOTE, `your replica's VOTE in term ${term}, to a candidate whose log ends at term ${c[0]}, index ${c[1]} (spec section 6)`, (v) => v.get('term') === term);
      const want = atLeastAsUpToDate(c) ? 1n : 0n;
      if (vote.get('granted') !== want) {
        throw new GradeFailure(
          `your replica, its log ending at term 2, index 3, answered ${show(vote)} to a VOTE_REQUEST of a new term from a log ending at term ${c[0]}, index ${c[1]}: ` +
            `it grants if and only if the candidate's last term is greater, or equal and its last index at least as large, so it must ${want ? 'grant' : 'refuse'} (spec section 6, voting)`,
        );
      }
    }
    // Tokens: from replica 3 (your replica's predecessor) to replica 2 (its successor), forwarded only if larger than its own.
    for (const r of [two, three]) {
      r.term = term;
      r.heartbeats(scaled(heartbeatMs), [1]);
    }
    await untilStatus(h, scripted.yours!, (st) => st.role === 'candidate', 'your replica to be a candidate, hearing no primary (spec section 6)', 10_000);
    for (const c of s.random.shuffle(around)) {
      const match = (v: Map<string, Value>) => v.get('candidate') === 3n && v.get('lastTerm') === BigInt(c[0]) && v.get('last') === BigInt(c[1]);
      three.send(T7.ELECTION, { from: 3n, term, candidate: 3n, lastTerm: BigInt(c[0]), last: BigInt(c[1]), visited: [3n] });
      const what = `replica 3's token (last term ${c[0]}, last index ${c[1]}, id 3), which your replica (last term 2, last index 3, id 1) `;
      if (atLeastAsUpToDate(c)) {
        await two.expect(T7.ELECTION, `${what}forwards: it is larger (spec section 6, the ring's tokens)`, match, 3_000);
      } else {
        await two.expectNone(T7.ELECTION, scaled(500), `${what}must drop: it is smaller, and only a larger token is forwarded (spec section 6, the ring's tokens)`, match);
      }
    }
  });
});

test('a replica takes a newer term from every replica message but a token: HEARTBEAT, APPEND, APPENDED, MISMATCH, VOTE_REQUEST, VOTE, ELECTED', { points: 3, timeoutMs: exploreTimeout(1, 30_000, 60_000) }, async (h) => {
  await explore(h, 1, async (s) => {
    const scripted = await yours(h, `s${s.number}-terms`, log, 2n);
    const d = digests(log);
    const kinds: { name: string; type: number; fields: (from: number, term: bigint) => Record<string, Value> }[] = [
      { name: 'HEARTBEAT', type: T7.HEARTBEAT, fields: (from, term) => ({ from: BigInt(from), term, primary: 0n, alive: [1n] }) },
      { name: 'APPEND', type: T7.APPEND, fields: (from, term) => ({ from: BigInt(from), term, prev: 3n, digest: d[3]!, entries: [], commit: 0n }) },
      { name: 'APPENDED', type: T7.APPENDED, fields: (from, term) => ({ from: BigInt(from), term, index: 0n }) },
      { name: 'MISMATCH', type: T7.MISMATCH, fields: (from, term) => ({ from: BigInt(from), term, prev: 0n, last: 0n }) },
      { name: 'VOTE_REQUEST', type: T7.VOTE_REQUEST, fields: (from, term) => ({ from: BigInt(from), term, lastTerm: 0n, last: 0n }) },
      { name: 'VOTE', type: T7.VOTE, fields: (from, term) => ({ from: BigInt(from), term, granted: 0n }) },
      { name: 'ELECTED', type: T7.ELECTED, fields: (from, term) => ({ from: BigInt(from), term, primary: BigInt(from) }) },
    ];
    let term = 2n;
    // A token of a much newer term somewhere in the sequence: its term must not be taken (spec section 3).
    const tokenAt = s.random.int(0, kinds.length);
    let token = false;
    for (const [i, kind] of s.random.shuffle(kinds).entries()) {
      if (i === tokenAt) {
        scripted.replica(3).send(T7.ELECTION, { from: 3n, term: term + 50n, candidate: 3n, lastTerm: 0n, last: 0n, visited: [3n] });
        token = true;
      }
      term++;
      const sender = scripted.replica(i % 2 === 0 ? 2 : 3);
      // Half of them with a key a later version might add: a receiver ignores keys it does not know (spec section 4).
      const later = s.random.chance(0.5);
      sender.send(kind.type, { ...kind.fields(sender.id, term), ...(later ? { later: 'a key of a later version' } : {}) });
      const st = await untilStatus(h, scripted.yours!, (x) => x.term !== undefined && BigInt(x.term) >= term, `your replica to take term ${term} from a ${kind.name} of that term (spec section 3: every replica message but ELECTION${later ? '; this one also carried a key "later", which a receiver ignores: spec section 4' : ''})`, 5_000);
      if (BigInt(st.term!) !== term) {
        throw new GradeFailure(`your replica is in term ${st.term} after a ${kind.name} of term ${term}${token ? `, having earlier got an ELECTION of term ${term - 1n + 50n}` : ''}: a token's term is never taken (spec section 3)`);
      }
    }
  });
});

/** The state after `log`'s records 1 to 3, as a snapshot holds it; `text` the message queued for bob. */
function snapshotOf(index: bigint, term: bigint, digest: bigint, text: string): Record<string, Value> {
  const password = 'made by the grader: no password matches it';
  return {
    index, term, digest,
    accounts: [
      map({ name: 'alice', password, number: 1n, queue: [] }),
      map({ name: 'bob', password, number: 2n, queue: [map({ id: 3n, from: 'alice', text, sender: 1n })] }),
    ],
    clients: [],
  };
}

test("installing a snapshot keeps the records after it only where the log agrees with it: a log that disagrees goes, and the snapshot's term is then the last term", { points: 3, timeoutMs: exploreTimeout(1, 40_000, 60_000) }, async (h) => {
  // Your replica's log: records 1 to 5, all of term 1, none known committed.
  const mine: LogEntry[] = [account(1, 1, 'alice'), account(2, 1, 'bob'), sent(3, 1, 'three'), sent(4, 1, 'four'), sent(5, 1, 'five')];
  const d = digests(mine);
  const other = digests([account(1, 1, 'alice'), account(2, 1, 'bob'), sent(3, 2, 'another three')]);
  const cases = [
    { what: 'a snapshot up to record 3 with your log\'s digest there: records 4 and 5 stay', snapshot: snapshotOf(3n, 1n, d[3]!, 'three'), last: 5 },
    { what: 'a snapshot up to record 3 of term 2, another digest: your records 3 to 5 differ, and the whole log goes', snapshot: snapshotOf(3n, 2n, other[3]!, 'another three'), last: 3 },
    { what: 'a snapshot up to record 7, past your log\'s end: the whole log goes', snapshot: snapshotOf(7n, 2n, other[3]!, 'another three'), last: 7 },
    // Late, or sent again: it holds nothing your replica lacks, and installing it would take its commit index back.
    { what: 'a snapshot up to record 3 after an APPEND told your replica that record 5 is committed: it holds everything in it already, and nothing changes', snapshot: snapshotOf(3n, 1n, d[3]!, 'three'), last: 5, committed: 5 },
  ];
  await explore(h, 1, async (s) => {
    for (const [i, c] of s.random.shuffle(cases).entries()) {
      const scripted = await yours(h, `s${s.number}-snapshot-${i + 1}`, mine, 1n);
      const primary = scripted.replica(2);
      primary.term = 2n;
      if (c.committed) {
        primary.send(T7.APPEND, { from: 2n, term: 2n, prev: 5n, digest: d[5]!, entries: [], commit: BigInt(c.committed) });
        await primary.expect(T7.APPENDED, `your replica's APPENDED {index: 5} for an APPEND of term 2 that agrees with its log at record 5 (spec section 7)`, (v) => v.get('index') === 5n, 10_000);
      }
      primary.send(T7.INSTALL_SNAPSHOT, { from: 2n, term: 2n, snapshot: map(c.snapshot) });
      await primary.expect(T7.APPENDED, `your replica's APPENDED {index: ${c.snapshot.index}} once it installed ${c.what} (spec section 10)`, (v) => v.get('index') === c.snapshot.index, 10_000);
      const st = await untilStatus(h, scripted.yours!, () => true, 'your replica\'s STATUS after the snapshot');
      if (st.last !== c.last) {
        throw new GradeFailure(`your replica's log (records 1 to 5, of term 1) got ${c.what}; its STATUS then says last ${st.last}, not ${c.last}: the records after the snapshot's index stay only if the log holds that record with the snapshot's digest (spec section 10)`);
      }
      if (c.committed && st.commit < c.committed) {
        throw new GradeFailure(`your replica (records 1 to 5, of term 1, committed up to 5) got ${c.what}; its STATUS then says commit ${st.commit}: a snapshot at or below the commit index is not installed (spec section 10, a backup's step 1), and a commit index never goes down (section 8)`);
      }
      if (c.last === Number(c.snapshot.index)) {
        // An APPEND that starts inside the snapshot and runs past it (sent before the snapshot, and late):
        // the backup appends nothing and answers with its snapshot's index, not with the APPEND's end.
        const S = c.snapshot.index as bigint;
        const entries = [sent(Number(S) - 1, 2, 'late, inside'), sent(Number(S), 2, 'late, at S'), sent(Number(S) + 1, 2, 'late, past S')];
        primary.send(T7.APPEND, { from: 2n, term: 2n, prev: S - 2n, digest: 0n, entries: entries.map(entryValue), commit: 0n });
        const why = `an APPEND with prev ${S - 2n}, inside its snapshot up to ${S}, and entries up to ${S + 1n}: it appends nothing and answers APPENDED {index: ${S}}, its snapshot's index (spec section 7, a backup's step 1)`;
        const answer = await primary.expect(T7.APPENDED, `your replica's answer to ${why}`, () => true, 10_000);
        if (answer.get('index') !== S) throw new GradeFailure(`your replica answered APPENDED ${show(answer)} to ${why}. The primary would count it as holding records up to ${String(answer.get('index'))}`);
        const after = await untilStatus(h, scripted.yours!, () => true, 'your replica\'s STATUS after the APPEND into its snapshot');
        if (after.last !== c.last) throw new GradeFailure(`after an APPEND with prev ${S - 2n}, inside its snapshot up to ${S}, your replica's STATUS says last ${after.last}: an APPEND whose prev is below the snapshot's index is answered, not applied (spec section 7, a backup's step 1)`);
        // Its log is now the snapshot alone, of term 2: that is its last term (section 3), for
        // votes as for tokens. A candidate of last term 1 is refused, however long its log; one
        // with the snapshot's term and index is granted.
        const asker = scripted.replica(3);
        for (const [term, lastTerm, last, want] of [[3n, 1n, S + 5n, 0n], [4n, 2n, S, 1n]] as const) {
          asker.send(T7.VOTE_REQUEST, { from: 3n, term, lastTerm, last });
          const vote = await asker.expect(T7.VOTE, `your replica's VOTE in term ${term}, its log being the snapshot alone (up to ${S}, of term 2), to a candidate whose log ends at term ${lastTerm}, index ${last}`, (v) => v.get('term') === term, 10_000);
          if (vote.get('granted') !== want) {
            throw new GradeFailure(
              `your replica, its log the snapshot alone (up to record ${S}, of term 2), answered ${show(vote)} to a VOTE_REQUEST of term ${term} from a log ending at term ${lastTerm}, index ${last}; it must ${want ? 'grant' : 'refuse'}: a log with no record after its snapshot has the snapshot's term as its last term (spec section 3), and votes compare last terms first (section 6)`,
            );
          }
        }
      }
      await scripted.yours!.kill('SIGKILL');
    }
  });
});

// Spec section 12: a term file that is not two whole numbers and a newline makes the replica
// refuse to start, with a line naming the file, and leave its directory as lab 5's refusals do
// (section 8 there): every file as it was, and no LOCK. A replica that read such a file leniently
// would forget the vote it held, and might vote twice in one term. A good term file keeps its term
// and its vote; a term.tmp left by a crash is never read, and is deleted at start-up.
const damagedTerms = ['7\n', '7 3', 'seven 3\n', '7 3 1\n', '', '7 -3\n', '7.5 3\n'];

test('a damaged term file makes the replica refuse to start, name the file and leave its directory as it was; term.tmp is deleted and a good one keeps its term and vote', { points: 2, timeoutMs: 90_000 }, async (h) => {
  const timing = { heartbeatMs: scaled(heartbeatMs), timeoutMs: scaled(2_000) };
  for (const [i, text] of h.random.shuffle(damagedTerms).slice(0, 3).entries()) {
    const s = await Scripted.create(h, 3, `term-${i + 1}`);
    s.prepare(log, 7n, 3);
    writeDataFile(path.join(s.dir, 'term'), text);
    const before = readImage(s.dir);
    const shown = JSON.stringify(text);
    h.note(`the grader wrote ${shown} into replica 1's term file`);
    const peers = s.others.map((o) => `${o.id}=127.0.0.1:${o.port}`).join(',');
    const proc = await h.start('replica', { name: `replica 1 on the term file ${shown}`, params: { id: 1, peers, data: s.dir, ...timing }, ready: false });
    await proc.expectExit(1, { timeoutMs: 20_000, what: `to refuse to start (exit status 1): its term file holds ${shown}, not two whole numbers and a newline (spec section 12)` });
    if (!proc.stderrLines().some((line) => /\bterm\b/.test(line))) {
      throw new GradeFailure(`your replica refused to start on the term file ${shown}, rightly, but no line on its standard error names the file "term" (spec section 12); its standard error:\n${proc.stderrLines().slice(-6).map((l) => `    ${l}`).join('\n') || '    (nothing)'}`);
    }
    const changes = imageChanges(before, readImage(s.dir));
    if (changes.length > 0) {
      throw new GradeFailure(`your replica refused to start on the term file ${shown}, and left its directory changed: ${changes.join('; ')}. A refusal leaves every file as it found it, with no LOCK, so that the next start refuses the same way (spec section 12, and spec/05-persistence.md section 8)`);
    }
  }
  // A good term file (term 7, a vote for replica 3), and a term.tmp of another term left by a crash.
  const s = await Scripted.create(h, 3, 'term-good');
  s.prepare(log, 7n, 3);
  writeDataFile(path.join(s.dir, 'term.tmp'), '9 2\n');
  for (const r of s.others) r.term = 7n;
  await s.start(timing);
  await poll(() => (existsSync(path.join(s.dir, 'term.tmp')) ? undefined : true), { timeoutMs: scaled(5_000), explain: () => 'your replica started and left term.tmp in its directory: files being written are never read, and are deleted at start-up (spec section 12)' });
  const st = await statusOf(h, s.yours!);
  if (st.term !== 7) throw new GradeFailure(`your replica started on the term file "7 3" (and a term.tmp holding "9 2", never to be read) and reports term ${st.term}: its term is 7 (spec section 12)`);
  const [two, three] = [s.replica(2), s.replica(3)];
  two.send(T7.VOTE_REQUEST, { from: 2n, term: 7n, lastTerm: 2n, last: 3n });
  const vote = await two.expect(T7.VOTE, "your replica's VOTE for replica 2 in term 7", (v) => v.get('term') === 7n);
  if (vote.get('granted') !== 0n) throw new GradeFailure(`your replica, whose term file says it voted for replica 3 in term 7, answered ${show(vote)} to replica 2 asking in term 7: one vote per term, and the vote on disk counts (spec sections 6 and 12)`);
  three.send(T7.VOTE_REQUEST, { from: 3n, term: 7n, lastTerm: 2n, last: 3n });
  const again = await three.expect(T7.VOTE, "your replica's VOTE for replica 3 in term 7", (v) => v.get('term') === 7n);
  if (again.get('granted') !== 1n) throw new GradeFailure(`your replica, whose term file says it voted for replica 3 in term 7, answered ${show(again)} when replica 3 asked again in term 7: the same vote is granted again (spec section 6)`);
});
