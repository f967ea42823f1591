import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import { Peer, T, createAccount, describeMessages, login, loginAnyCount, map, readAll, relogin, sendMessage, startServer, type Msg } from './durable.js';
import { History, keepSending, kill9, pushesUntilClosed } from './history.js';
import { checkCrashState, checkImagesAtRest, crashStates, recordWorkload } from './crash.js';
import { checkAll, exploreCount, pick } from '../../../grader/explore/crash-states.js';

const test = phase(lab, '5.2');

test('kill -9 at random moments while six clients send: every acknowledged SEND survives, once, in order', { points: 10 }, async (h) => {
  const { server } = await startServer(h);
  const setup = await Peer.connect(h, server, { name: 'setup' });
  const senders = ['s1', 's2', 's3', 's4', 's5', 's6'];
  for (const name of [...senders, 'offline', 'online']) await createAccount(setup, name);
  const history = new History();
  const accounts: { name: string; acked: boolean }[] = [];

  for (let round = 1; round <= 3; round++) {
    const peers = await Promise.all(senders.map(async (name) => {
      const peer = await Peer.connect(h, server, { name });
      await login(peer, name);
      return peer;
    }));
    const online = await relogin(h, server, 'online', 0);
    const creator = await Peer.connect(h, server, { name: `creator ${round}` });
    const sending = peers.map((peer) => keepSending(peer, history, ['offline', 'online'], h.random.int(1, 5)));
    // An account created while the load runs: after the crash it exists whole, or not at all.
    const account = { name: `late${round}`, acked: false };
    accounts.push(account);
    creator.send(T.CREATE_ACCOUNT, map({ name: account.name, password: `pw-${account.name}` }));
    const created = creator.readReply(`ACCOUNT_CREATED for ${account.name}`, { timeoutMs: 20_000 }).then((f) => (account.acked = f.type === BigInt(T.ACCOUNT_CREATED)), () => false);
    const delay = h.random.int(60, 400);
    h.note(`round ${round}: the grader kills the server with SIGKILL after ${delay} ms of load (seeded)`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    await kill9(server);
    await Promise.all([...sending, created]);
    history.deliver('online', await pushesUntilClosed(online));
    history.run++;

    await server.restart();
    for (const name of ['offline', 'online']) {
      const peer = await loginAnyCount(h, server, name, `after restart ${round}`);
      history.deliver(name, await readAll(peer));
      peer.conn.end();
    }
    history.check(`after kill -9 number ${round}`);
    const checker = await Peer.connect(h, server, { name: `checker ${round}` });
    checker.send(T.LOGIN, map({ name: account.name, password: `pw-${account.name}` }));
    const frame = await checker.readReply(`the reply to LOGIN as ${account.name}`);
    if (account.acked && frame.type !== BigInt(T.LOGGED_IN)) throw new GradeFailure(`the account ${account.name} was acknowledged (ACCOUNT_CREATED) before the kill, but after the restart LOGIN gets ${checker.describe(frame)}`);
    if (frame.type !== BigInt(T.LOGGED_IN) && frame.type !== BigInt(T.ERROR)) throw new GradeFailure(`LOGIN as ${account.name} got ${checker.describe(frame)}`);
    checker.conn.end();
  }
  const last = await relogin(h, server, 's1', 0);
  const id = await sendMessage(last, 's1', 'after the crashes');
  if (id <= history.maxId()) throw new GradeFailure(`after the crashes a message got id ${id}, but ids up to ${history.maxId()} were given before: ids never repeat (spec section 1)`);
});

test('kill -9 the moment a SENT arrives: that message is there after the restart', { points: 7 }, async (h) => {
  const { server } = await startServer(h);
  const setup = await Peer.connect(h, server, { name: 'setup' });
  await createAccount(setup, 'alice');
  await createAccount(setup, 'bob');
  for (let round = 1; round <= 5; round++) {
    const alice = await relogin(h, server, 'alice', 0);
    // A few messages first (seeded), then the one the kill follows at once.
    const acked: Msg[] = [];
    const before = h.random.int(0, 4);
    for (let i = 0; i <= before; i++) {
      const text = i === before ? `round ${round}: killed right after its SENT` : `round ${round} message ${i + 1}`;
      acked.push({ from: 'alice', id: await sendMessage(alice, 'bob', text), text });
    }
    await kill9(server);
    await server.restart();
    const bob = await relogin(h, server, 'bob', acked.length);
    const got = await readAll(bob);
    const missing = acked.filter((m) => !got.some((g) => g.id === m.id && g.text === m.text && g.from === m.from));
    if (missing.length > 0) {
      throw new GradeFailure(
        `after kill -9 number ${round}, ${missing.length} acknowledged message(s) are not waiting for bob: ${describeMessages(missing)}. ` +
          `Their SENT replies had arrived, so their records must have been on disk (spec section 6); waiting: ${describeMessages(got) || 'nothing'}`,
      );
    }
    bob.conn.end();
  }
});

// The directories a power cut could leave, built from the directory's bytes after each reply
// (tests/crash.ts): 12 of them by default, two at a time (10 s on a quiet 2-core machine, 25 s under heavy load); --explore N runs N.
const crashes = exploreCount(12);

test('power cuts at every point of a workload with compactions: each directory a crash could leave keeps every acknowledged change, once, and ids run on', { points: 8, timeoutMs: Math.max(90_000, 30_000 + crashes * 2_500) }, async (h) => {
  const recording = await recordWorkload(h, { steps: 40, compactAfter: 6 });
  checkImagesAtRest(h, recording);
  const all = crashStates(recording, h.random);
  const chosen = pick(all, crashes, h.random);
  h.note(`${all.length} crash states built from ${recording.images.length} images of the directory; the server starts on ${chosen.length} of them (seed ${h.config.seed}; --explore N for more)`);
  const started = Date.now();
  await checkAll(chosen, 2, (state, n) => checkCrashState(h, recording, state, n, chosen.length));
  h.note(`${chosen.length} crash states recovered as the spec says, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
