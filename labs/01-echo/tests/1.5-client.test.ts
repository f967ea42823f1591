import { setTimeout as delay } from 'node:timers/promises';
import lab from '../lab.js';
import { GradeFailure, Random, phase } from '../../../grader/harness/index.js';
import type { Harness } from '../../../grader/harness/index.js';
import { MiB, tcpSetting } from './streams.js';

const test = phase(lab, '1.5');

test('lines typed are sent, and the replies printed', { points: 6 }, async (h) => {
  const fake = await h.fakeServer();
  const client = await h.start('client', { params: { port: fake.port } });
  const link = await fake.accept({ from: client, what: 'the client to connect' });
  // The last one typed with a Windows line end: "\r\n" ends a line as "\n" does (spec section 4, item 1).
  const typed: [string, string][] = [['hello', '\n'], ['ünïcödé ✓', '\n'], ['three words here', '\n'], ['typed on Windows', '\r\n']];
  for (const [line, end] of typed) {
    client.send(`${line}${end}`);
    await link.expectLine(line, { what: `the line typed into the client: "${line}"${end === '\r\n' ? ', sent without the "\\r" of its "\\r\\n"' : ''}` });
    link.send(`${line}\n`);
    await client.expectNextLine(line, { what: `the server's reply "${line}" printed` });
  }
  // Only the lines `quit` and `exit` themselves end the session (spec section 4, item 4): a line
  // that merely looks like one is text, sent like any other.
  for (const [i, line] of ['Quit', 'EXIT', ' quit', 'exit ', 'quit\t', 'quit now', 'exits'].entries()) {
    client.send(`${line}\n`);
    await link.expectLine(line, { what: `the line ${JSON.stringify(line)} sent as text: only a line that is exactly "quit" or "exit" ends the session` });
    link.send(`reply ${i + 1}\n`);
    await client.expectNextLine(`reply ${i + 1}`, { what: `the server's reply "reply ${i + 1}" printed: the client goes on after the line ${JSON.stringify(line)}` });
  }
  // A reply split across two TCP writes is still one line, and a character cut in two is still
  // one character. The pause between the pieces is a fault (a slow network), so that they reach
  // the client in two reads: nothing waits on it.
  const split = Buffer.from('split reply, wörld\n');
  const cut = split.indexOf(0xc3) + 1;
  link.send(split.subarray(0, cut));
  await delay(100);
  link.send(split.subarray(cut));
  await client.expectNextLine('split reply, wörld', { what: 'a reply that arrived in two pieces, cut inside the "ö", printed once, whole' });
});

/** Twice the largest send buffer Linux gives a socket (tcp_wmem's maximum), 8 MiB at least; 8 MiB elsewhere. */
function typedBytes(): number {
  return Math.max(8 * MiB, 2 * (tcpSetting('tcp_wmem', 2) ?? 0));
}

test('a block typed at once while the server reads slowly, then fast: every line is sent, then the end of input closes', { points: 2 }, async (h) => {
  const fake = await h.fakeServer();
  const client = await h.start('client', { params: { port: fake.port } });
  const link = await fake.accept({ from: client, what: 'the client to connect' });
  // Lines typed at once (a pasted file), twice what the OS lets a socket queue for sending (8 MiB
  // at least). The server reads nothing at first, so the client's socket backs up; then it reads
  // as fast as it can. A client that stops reading its input while the socket is full must start
  // again when the socket drains (spec section 4).
  const lineBytes = 16 * 1024;
  const lines = Array.from({ length: Math.ceil(typedBytes() / lineBytes) }, (_, i) => `line ${String(i + 1).padStart(5, '0')} ${'p'.repeat(lineBytes - 11)}`);
  const typed = `${lines.join('\n')}\n`;
  link.socket.pause();
  client.send(typed);
  // The slow part of the reader is a fault, not a wait: nothing depends on its length.
  await delay(500);
  link.socket.resume();
  const want = Buffer.from(typed);
  // Read in pieces, so that a stall says how far the client got.
  const pieces: Buffer[] = [];
  let got = 0;
  let stalled: GradeFailure | undefined;
  while (got < want.length && !stalled) {
    try {
      const piece = await link.readBytes(Math.min(MiB, want.length - got), { what: `more of the ${lines.length} lines typed at once`, timeoutMs: 10_000 });
      pieces.push(piece);
      got += piece.length;
    } catch (error) {
      if (!(error instanceof GradeFailure)) throw error;
      stalled = error;
    }
  }
  const sent = Buffer.concat(pieces).toString('latin1').split('\n');
  const whole = stalled ? sent.slice(0, -1) : sent.slice(0, lines.length);
  const wrong = whole.findIndex((line, k) => line !== lines[k]);
  if (wrong >= 0) {
    throw new GradeFailure(`of the ${lines.length} lines typed at once (while the server read slowly, then fast), line ${wrong + 1} reached the server as ${JSON.stringify(whole[wrong]!.slice(0, 24))}..., not ${JSON.stringify(lines[wrong]!.slice(0, 24))}...: every line typed is sent, once and in order, however full the socket was`);
  }
  if (stalled) {
    throw new GradeFailure(
      `of the ${lines.length} lines typed at once, the server got the first ${whole.length} and then nothing for 10 s (${link.state()}). The server read nothing for a moment, then everything. A client that stops reading its input while its socket is full (write() returned false), or drops what it reads then, never sends the rest: it must send every line, reading on once the socket drains`,
    );
  }
  client.endInput();
  await link.expectClosed({ what: 'the client to close its side at the end of its input, having sent every line' });
  link.end();
  await client.expectExit(0);
});

test('quit and the end of input close the connection and exit 0', { points: 3 }, async (h) => {
  const fake = await h.fakeServer();
  const byQuit = await h.start('client', { name: 'client (quit)', params: { port: fake.port } });
  const first = await fake.accept({ from: byQuit, name: 'fake server (quit)' });
  byQuit.send('quit\n');
  await first.expectClosed({ what: 'the client to close its side after "quit", without sending it' });
  first.end();
  await byQuit.expectExit(0);

  const byEnd = await h.start('client', { name: 'client (end of input)', params: { port: fake.port } });
  const second = await fake.accept({ from: byEnd, name: 'fake server (end of input)' });
  byEnd.endInput();
  await second.expectClosed({ what: 'the client to close its side at the end of its input' });
  second.end();
  await byEnd.expectExit(0);
});

test('an unreachable or vanished server is an error', { points: 4 }, async (h) => {
  const nobody = await h.claimPort('a port nothing listens on');
  const lonely = await h.start('client', { name: 'client (no server)', params: { port: nobody } });
  await lonely.expectExit('nonzero', { what: 'to exit with an error: nothing listens on its port' });
  if (!lonely.stderrLines().some((line) => line.includes(String(nobody)))) {
    throw new GradeFailure(`the client exited, but its standard error does not name the port ${nobody} it could not reach; it printed:\n${lonely.stderrLines().join('\n') || '(nothing)'}`);
  }

  const fake = await h.fakeServer();
  const abandoned = await h.start('client', { name: 'client (server vanishes)', params: { port: fake.port } });
  const link = await fake.accept({ from: abandoned });
  // The client prints a line only once it knows it is connected: the reset then ends a live connection.
  link.send('hello\n');
  await abandoned.expectNextLine('hello', { what: 'the line the server sent before it vanished' });
  await link.reset();
  await abandoned.expectExit('nonzero', { what: 'to exit with an error after the server reset the connection' });
  if (abandoned.stderrLines().length === 0) throw new GradeFailure('the client exited after losing the server, but printed no message on standard error');

  // A burst of lines, then the close, while whatever reads the client's output is slow: the lines
  // wait in the client's own memory, and it must print them all before it exits (item 6).
  const slow = await h.start('client', { name: 'client (slow output)', params: { port: fake.port } });
  const burstLink = await fake.accept({ from: slow, name: 'fake server (a burst, then gone)' });
  burstLink.send('first\n');
  await slow.expectNextLine('first', { what: 'the first line the server sent' });
  const burst = Array.from({ length: 1_000 }, (_, i) => `burst ${String(i + 1).padStart(4, '0')} ${'b'.repeat(990)}`);
  const send = () => {
    burstLink.send(burst.map((l) => `${l}\n`).join(''));
    burstLink.end();
  };
  await slow.expectLinesDespiteSlowReader(send, burst, 'the server sent before it closed (spec section 4, item 6)');
  await slow.expectExit(1, { what: 'to exit with status 1 once it has printed every line: the server closed before the user was done' });
});

// The server going away, searched: each client below meets a fake server that closes (FIN) or
// resets (RST) at a seeded random point, with lines typed and replies sent before it, some of
// the replies in the same write as the close, and more input typed after it or none. The spec
// (section 4, items 2, 4 and 6) says what the client does: every whole line printed, a message
// on standard error, exit status 1; or status 0 when the user had finished first.
type Ending =
  | 'closes before any line'
  | 'closes after a line'
  | 'closes in the middle of a line'
  | 'closes in the same write as its last lines'
  | 'resets before any line'
  | 'resets after a line'
  | 'closes after the user is done';

const words = ['echo', 'ping', 'hello', 'wörld', 'line', 'tcp', '✓', 'stream', 'fin', 'again', '42', 'half open'];

async function meet(h: Harness, n: number, ending: Ending, typesAfter: boolean, random: Random, plan: string[]): Promise<void> {
  const say = (step: string) => plan.push(step);
  const line = () => Array.from({ length: random.int(1, 4) }, () => random.pick(words)).join(' ') + ` ${n}.${random.int(0, 1000)}`;
  const fake = await h.fakeServer();
  const client = await h.start('client', { name: `client ${n}`, params: { port: fake.port } });
  const link = await fake.accept({ from: client, name: `fake server ${n}` });
  if (!ending.includes('before any line')) {
    for (let i = random.int(1, 4); i > 0; i--) {
      const text = line();
      if (random.chance(0.5)) {
        say(`the user types "${text}"`);
        client.send(`${text}\n`);
        await link.expectLine(text, { what: `the line typed into ${client.name}: "${text}"` });
      }
      say(`the server sends "${text}"`);
      const bytes = Buffer.from(`${text}\n`);
      const cut = random.int(1, bytes.length);
      link.send(bytes.subarray(0, cut));
      if (cut < bytes.length) link.send(bytes.subarray(cut));
      await client.expectNextLine(text, { what: `the server's line "${text}" printed` });
    }
  }
  let last: string[] = [];
  let partial: string | undefined;
  if (ending === 'closes after the user is done') {
    const how = random.pick(['quit', 'exit', 'the end of input'] as const);
    say(`the user ends with ${how}`);
    if (how === 'the end of input') client.endInput();
    else client.send(`${how}\n`);
    await link.expectClosed({ what: `${client.name} to close its side after ${how}, without sending anything more` });
    last = Array.from({ length: random.int(0, 3) }, line);
    say(`the server sends ${last.length} more line(s) and closes`);
    if (last.length > 0) link.send(last.map((l) => `${l}\n`).join(''));
    link.end();
    await client.expectExit(0, { what: 'to exit with status 0: the user had finished, then the server closed' });
    // It MAY print replies that still arrive (section 4, item 4), and nothing else.
    const late = { name: 'the replies sent after the user was done', test: (l: string) => last.includes(l.trimEnd()) };
    await client.expectNoMoreOutput({ what: 'no line the server did not send', allow: late });
    return;
  }
  if (ending === 'closes in the same write as its last lines') {
    last = Array.from({ length: random.int(1, 4) }, line);
    if (random.chance(0.5)) partial = line();
    say(`the server sends ${last.length} line(s)${partial ? ` and "${partial}" without a newline` : ''} and closes, all in one write`);
    link.send(last.map((l) => `${l}\n`).join('') + (partial ?? ''));
    link.end();
  } else if (ending === 'closes in the middle of a line') {
    partial = line();
    say(`the server sends "${partial}" without a newline and closes`);
    link.send(partial);
    link.end();
  } else if (ending.startsWith('closes')) {
    say('the server closes (FIN)');
    link.end();
  } else {
    say('the server resets the connection (RST)');
    await link.reset();
  }
  if (typesAfter) {
    const more = Array.from({ length: random.int(1, 3) }, line);
    say(`the user types ${more.length} more line(s)`);
    for (const text of more) client.send(`${text}\n`);
  } else say('the user types nothing more');
  await client.expectExit(1, { what: 'to exit with status 1 (the server went away before the user finished), without waiting for more input' });
  if (last.length > 0) await client.expectNextLines(last, { what: 'the whole lines that came with the close' });
  // A last piece without a newline MAY be printed as a line, or dropped (section 4, item 2).
  const allow = partial === undefined ? undefined : { name: `the last piece "${partial}" without a newline`, test: (l: string) => l.trimEnd() === partial };
  await client.expectNoMoreOutput({ what: 'nothing but the lines the server sent (messages go to standard error)', allow });
  if (client.stderrLines().length === 0) throw new GradeFailure(`${client.name} exited with status 1 but printed no message on standard error`);
}

test('the server goes away at random points: the lines printed, a message, exit 1', { points: 5 }, async (h) => {
  const endings: Ending[] = [
    'closes before any line',
    'closes after a line',
    'closes in the middle of a line',
    'closes in the same write as its last lines',
    'resets before any line',
    'resets after a line',
    'closes after the user is done',
  ];
  // Half of the clients get more input after the server is gone, half none: both must end.
  const typing = h.random.shuffle(endings.map((_, i) => i % 2 === 0));
  const meetings = endings.map((ending, i) => ({ n: i + 1, ending, typesAfter: typing[i]!, random: new Random(h.random.int(0, 2 ** 31)), plan: [] as string[] }));
  const outcomes = await Promise.allSettled(meetings.map((m) => meet(h, m.n, m.ending, m.typesAfter, m.random, m.plan)));
  const failed = outcomes.findIndex((o) => o.status === 'rejected');
  if (failed >= 0) {
    const { n, ending, plan } = meetings[failed]!;
    const reason = (outcomes[failed] as PromiseRejectedResult).reason as Error;
    throw new GradeFailure(`client ${n} (the server ${ending}): ${plan.join(', then ')}; and then: ${reason.message}`);
  }
});
