// Steps lab 5's tests share: starting a server on a data directory, stopping it cleanly or
// killing it, restarting it when it is expected to refuse, and reading what clients received.
// The protocol itself is lab 3's, spoken with lab 3's grader codec (labs/03-protocol/tests).
import { performance } from 'node:perf_hooks';
import type { Harness, Proc } from '../../../grader/harness/index.js';
import { GradeFailure } from '../../../grader/harness/index.js';
import { describeExit } from '../../../grader/harness/process.js';
import { heldByOsAtRest, tcpSockets } from '../../../grader/harness/procfs.js';
import { poll } from '../../../grader/harness/wait.js';
import { Peer, createAccount, login } from '../../03-protocol/tests/peer.js';
import { T, map, show, type Value } from '../../03-protocol/tests/wire.js';

export { Peer, createAccount, expectRead, login, sendMessage, user } from '../../03-protocol/tests/peer.js';
export { T, map, show } from '../../03-protocol/tests/wire.js';

export interface Msg {
  from: string;
  id: bigint;
  text: string;
}

/** Starts a server on `dir` (a fresh data directory if none is given). */
export async function startServer(h: Harness, options: { dir?: string; compactAfter?: number; name?: string; readyTimeoutMs?: number; prefix?: string[] } = {}): Promise<{ server: Proc; dir: string }> {
  const dir = options.dir ?? h.dataDir();
  const server = await h.start('server', {
    name: options.name,
    params: { data: dir, compactAfter: options.compactAfter },
    readyTimeoutMs: options.readyTimeoutMs,
    prefix: options.prefix,
  });
  return { server, dir };
}

/** A clean shutdown (SIGTERM): the server must exit with status 0 (spec section 2). */
export async function stopCleanly(server: Proc): Promise<void> {
  await server.kill('SIGTERM');
  const exit = server.exit;
  if (!exit) throw new GradeFailure(`${server.name} did not exit within 2 s of SIGTERM, a clean shutdown (spec section 2)${server.tailText()}`);
  if (exit.code !== 0) throw new GradeFailure(`${server.name} must exit with status 0 after SIGTERM (spec section 2), but ${describeExit(exit)}${server.tailText()}`);
}

/** Starts the stopped `server` again on the same port and directory, where it must refuse to start. */
export async function restartExpectingRefusal(server: Proc, why: string): Promise<string[]> {
  try {
    await server.restart();
  } catch (error) {
    if (!(error instanceof GradeFailure) || !server.exit) throw error;
    await server.settle();
    if (server.exit.code === 0 || server.exit.code === null) {
      throw new GradeFailure(`${server.name} must refuse to start (${why}) with exit status 1, but ${describeExit(server.exit)}${server.tailText()}`);
    }
    const crash = server.crash();
    if (crash) throw new GradeFailure(`${server.name} refused to start (${why}), but by crashing: ${crash.summary}. The spec asks for one line on standard error and exit status 1 (section 8).`);
    return server.stderrLines();
  }
  throw new GradeFailure(`${server.name} started and accepted connections, but it must refuse to start: ${why} (spec section 8)`);
}

/** Logs in to an existing account on a new connection; `waiting` is the count LOGGED_IN must give. */
export async function relogin(h: Harness, server: Proc, name: string, waiting: number): Promise<Peer> {
  const peer = await Peer.connect(h, server, { name });
  await login(peer, name, waiting);
  return peer;
}

/** Logs in to an existing account on a new connection, however many messages wait for it. */
export async function loginAnyCount(h: Harness, server: Proc, name: string, when: string): Promise<Peer> {
  const peer = await Peer.connect(h, server, { name: `${name} ${when}` });
  peer.send(T.LOGIN, map({ name, password: `pw-${name}` }));
  const frame = await peer.readReply(`LOGGED_IN for ${name}`);
  if (frame.type !== BigInt(T.LOGGED_IN)) throw new GradeFailure(`${name} could not log in ${when}: ${peer.describe(frame)}`);
  return peer;
}

/** A connection logged in to a new account. */
export async function newUser(h: Harness, server: Proc, name: string): Promise<Peer> {
  const peer = await Peer.connect(h, server, { name });
  await createAccount(peer, name);
  await login(peer, name);
  return peer;
}

export function asMessage(value: Value): Msg {
  const ok = value instanceof Map && typeof value.get('from') === 'string' && typeof value.get('id') === 'bigint' && typeof value.get('text') === 'string';
  if (!ok) throw new GradeFailure(`a message must be {from: string, id: int, text: string}; got ${show(value)}`);
  return { from: value.get('from') as string, id: value.get('id') as bigint, text: value.get('text') as string };
}

/** READs until nothing remains; returns every message, in order, pushes met on the way included. */
export async function readAll(peer: Peer): Promise<Msg[]> {
  const out: Msg[] = [];
  for (let round = 0; ; round++) {
    const reply = await peer.call(T.READ, map({ limit: 1000n }), T.MESSAGES, 'MESSAGES');
    const messages = reply.get('messages');
    const remaining = reply.get('remaining');
    if (!Array.isArray(messages) || typeof remaining !== 'bigint') throw new GradeFailure(`${peer.name} got MESSAGES ${show(reply)}; it must be {messages: [...], remaining: int}`);
    if (messages.length === 0 && remaining > 0n) throw new GradeFailure(`${peer.name} got MESSAGES with no messages and ${remaining} remaining`);
    out.push(...messages.map(asMessage));
    if (remaining === 0n) return out;
    if (round > 10_000) throw new GradeFailure(`${peer.name} read 10,000 times and messages still remain`);
  }
}

/** The pushes a peer has set aside so far, as messages. */
export function takePushes(peer: Peer): Msg[] {
  return peer.pushes.splice(0).map((frame) => asMessage(peer.decode(frame, 'a pushed MESSAGE')));
}

export function describeMessages(messages: Msg[], max = 6): string {
  const shown = messages.slice(0, max).map((m) => `${m.id} ${JSON.stringify(m.text)} from ${m.from}`);
  return `${shown.join(', ')}${messages.length > max ? `, ... (${messages.length} in all)` : ''}`;
}

/**
 * The grader made the client's server (`gone`: "the server", "every replica") go away for good at
 * `since`, refusing every attempt: the client tries for 30 s from the drop (`how`: "trying to
 * connect"), then exits with status 1. Required between 20 and 60 s after `since`.
 */
export async function expectGivesUp(client: Proc, since: number, gone: string, how: string, rule: string): Promise<void> {
  await client.expectExit(1, { what: `to give up and exit with status 1 once ${gone} had been away for 30 s (${rule})`, timeoutMs: 60_000 });
  const after = (Date.now() - since) / 1000;
  if (after < 20) {
    throw new GradeFailure(`the client gave up ${after.toFixed(1)} s after ${gone} went away: it must keep ${how}, an attempt at least every 500 ms, for 30 s (${rule})${client.tailText()}`);
  }
}

/**
 * Runs `request` (which writes at once), then `reset`: the grader resets a connection right after
 * a request, while what the request makes is surely held (a slowed sync, a delayed commit).
 * `inTime` is false if the reset left more than `withinMs` after the request: the grader's own
 * process stalled, what was held may have gone out first, and the round proves nothing.
 */
export async function resetRightAfter<T>(request: () => Promise<T>, reset: () => Promise<void>, withinMs: number): Promise<{ reply: Promise<T>; inTime: boolean }> {
  const started = performance.now();
  const reply = request();
  await reset();
  return { reply, inTime: performance.now() - started < withinMs };
}

/** What pushPastTheKernel sent, and which of its pushes were surely never written. */
export interface PushedPast {
  pushed: { id: bigint; text: string }[];
  unwritten: { id: bigint; text: string }[];
  /** Bytes of the connection that the kernel (and the recipient's own socket) held at rest. */
  kernel: number;
}

const longText = 60_000;

/**
 * Spec/05-persistence.md section 7, a frame never written: the recipient `bob` (logged in, its
 * queue empty) stops reading, and `send` (a SEND to it) sends long messages until what the kernel
 * holds of bob's connection (both ends' queues, /proc/net/tcp; Linux only) is at rest and the
 * pushes made are several frames past it. A push that starts past everything the kernel (and
 * bob's socket) took was never written: the server holds it, in its own buffer or its queue. Then
 * bob's connection is reset. The frames the kernel took were written, and their loss in the reset
 * is the protocol's (section 7, last paragraph): they are not judged. Undefined where the OS
 * does not say what its queues hold (not Linux): nothing can be judged there.
 */
export async function pushPastTheKernel(h: Harness, bob: Peer, send: (text: string) => Promise<bigint>): Promise<PushedPast | undefined> {
  if (tcpSockets(() => false) === undefined) {
    h.note(`not judged here: only Linux's /proc/net/tcp says what the kernel holds of a connection, and so which pushes were never written`);
    return undefined;
  }
  bob.conn.socket.pause();
  // Every byte the server wrote to the connection is in the kernel's queues or in bob's socket.
  const held = () => {
    const kernel = heldByOsAtRest(bob.conn.socket);
    return kernel === undefined ? undefined : kernel + bob.conn.unread + bob.conn.socket.readableLength;
  };
  // With `stillMs`, the count must not change for that long: a server may write a push a moment
  // after its SENT, and a frame written after the last look would be judged never written.
  const taken = (stillMs = 0) => {
    let last: number | undefined;
    let since = 0;
    return poll(
      () => {
        const now = held();
        if (now === undefined || now !== last) [last, since] = [now, Date.now()];
        return now !== undefined && Date.now() - since >= stillMs ? now : undefined;
      },
      { timeoutMs: 10_000 + stillMs, intervalMs: 20, explain: () => `the kernel's queues of ${bob.name}'s connection never came to rest (/proc/net/tcp; Linux only): this test cannot tell what the server wrote` },
    );
  };
  // A push's offset in bob's stream is at least the sum of the texts and frame headers before it.
  const pushed: { id: bigint; text: string; from: number }[] = [];
  let offset = 0;
  let kernel = 0;
  for (let n = 1; ; n++) {
    const text = `${n}: `.padEnd(longText, String.fromCharCode(97 + (n % 26)));
    pushed.push({ id: await send(text), text, from: offset });
    offset += 12 + text.length;
    if (n % 8 !== 0) continue;
    kernel = await taken();
    // Four frames past it, beyond a frame of slack; and still so once nothing has moved for 300 ms.
    if (offset >= kernel + 5 * (12 + longText) && offset >= (kernel = await taken(300)) + 5 * (12 + longText)) break;
    if (offset > 64 * 1024 * 1024) throw new GradeFailure(`${n} messages of ${longText} bytes were sent to ${bob.name}, and the kernel still took every push (${kernel} bytes held): this test cannot fill the connection`);
  }
  const unwritten = pushed.filter((p) => p.from >= kernel + 12 + longText);
  h.note(`${pushed.length} messages pushed to ${bob.name}, who read none; the kernel held ${kernel} bytes of the connection at rest, so the last ${unwritten.length} pushes (messages ${unwritten[0]!.id} to ${unwritten.at(-1)!.id}) were never written`);
  await bob.conn.reset();
  return { pushed, unwritten, kernel };
}

/** After pushPastTheKernel: the recipient, logged in again as `again`, must find every unwritten push waiting, in order, each once. */
export async function expectUnwrittenWaiting(again: Peer, sent: PushedPast | undefined, rule: string): Promise<void> {
  if (!sent) return;
  const got = [...takePushes(again), ...(await readAll(again))];
  const ids = got.map((m) => m.id);
  const short = (m: { id: bigint; text: string }) => `${m.id} "${m.text.slice(0, 12)}..."`;
  const missing = sent.unwritten.filter((p) => !ids.includes(p.id));
  if (missing.length > 0) {
    throw new GradeFailure(
      `${again.name} logged in again and found ${got.length} messages${got.length ? ` (${got.slice(0, 4).map(short).join(', ')}${got.length > 4 ? ', ...' : ''})` : ''}; messages ${missing.map((m) => m.id).join(', ')} were missing. The recipient had stopped reading: the kernel held ${sent.kernel} bytes of its connection, and the messages pushed after those were still in the server's hands when the connection was reset. A push never written delivered nothing, and its message waits for the next login (${rule}): record a delivery only once the operating system has taken the whole frame (in Node, in the callback of socket.write; elsewhere, once the bytes left your own buffer)`,
    );
  }
  const repeated = ids.some((id, i) => ids.indexOf(id) !== i);
  const unsent = got.some((m) => !sent.pushed.some((p) => p.id === m.id && p.text === m.text));
  if (repeated || unsent || ids.some((id, i) => i > 0 && id <= ids[i - 1]!)) {
    throw new GradeFailure(`${again.name} logged in again and found ${got.map(short).join(', ')}: each message sent once, oldest id first, was expected (${rule})`);
  }
}
