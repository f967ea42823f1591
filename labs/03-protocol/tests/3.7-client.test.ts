import lab from '../lab.js';
import { GradeFailure, phase } from '../../../grader/harness/index.js';
import type { Proc, Random } from '../../../grader/harness/index.js';
import { type Peer, clientWithFakeServer } from './peer.js';
import { T, frame, header, int64Max, int64Min, jsonIntMax, map, maxPayload, message, type Value } from './wire.js';

const test = phase(lab, '3.7');

interface Step {
  command: string;
  request: [number, Value];
  reply: [number, Value];
  printed: string[];
}

/** Types each command, requires its request frame byte for byte, replies, and requires the lines printed. */
async function run(client: Proc, link: Peer, steps: Step[]): Promise<void> {
  for (const { command, request, reply, printed } of steps) {
    client.send(`${command}\n`);
    await link.expectFrame(request[0], request[1], `the request for the command "${command}"`);
    link.conn.send(message(reply[0], reply[1], link.wire));
    for (const line of printed) await client.expectNextLine(line, { what: `the line "${line}" printed for the reply to "${command}"` });
  }
}

const msg = (from: string, id: bigint, text: string) => map({ from, id, text });

test('commands become canonical request frames, and replies are printed', { points: 3 }, async (h) => {
  const { client, link } = await clientWithFakeServer(h);
  await run(client, link, [
    { command: 'ping hello there', request: [T.PING, map({ value: 'hello there' })], reply: [T.PONG, map({ value: 'hello there' })], printed: ['pong hello there'] },
    { command: 'create alice s3cret', request: [T.CREATE_ACCOUNT, map({ name: 'alice', password: 's3cret' })], reply: [T.ACCOUNT_CREATED, map({ name: 'alice' })], printed: ['created alice'] },
    { command: 'login alice s3cret', request: [T.LOGIN, map({ name: 'alice', password: 's3cret' })], reply: [T.LOGGED_IN, map({ name: 'alice', waiting: 3n })], printed: ['logged in as alice, 3 waiting'] },
    {
      command: 'read',
      request: [T.READ, map({ limit: 10n })],
      reply: [T.MESSAGES, map({ messages: [msg('bob', 3n, 'hi there'), msg('carol', 5n, 'ünïcödé ✓')], remaining: 1n })],
      printed: ['message 3 from bob: hi there', 'message 5 from carol: ünïcödé ✓', '1 more waiting'],
    },
    { command: 'read 1', request: [T.READ, map({ limit: 1n })], reply: [T.MESSAGES, map({ messages: [msg('bob', 6n, 'last')], remaining: 0n })], printed: ['message 6 from bob: last', '0 more waiting'] },
    { command: 'list', request: [T.LIST_ACCOUNTS, map({ pattern: '*' })], reply: [T.ACCOUNTS, map({ names: ['alice', 'bob', 'carol'] })], printed: ['accounts: alice bob carol'] },
    { command: 'list z*', request: [T.LIST_ACCOUNTS, map({ pattern: 'z*' })], reply: [T.ACCOUNTS, map({ names: [] })], printed: ['accounts: (none)'] },
    { command: 'send bob hello  bob, with two spaces', request: [T.SEND, map({ to: 'bob', text: 'hello  bob, with two spaces' })], reply: [T.SENT, map({ id: 7n })], printed: ['sent message 7'] },
    { command: 'delete 7 3', request: [T.DELETE_MESSAGES, map({ ids: [7n, 3n] })], reply: [T.DELETED, map({ ids: [7n] })], printed: ['deleted: 7'] },
    { command: 'delete 1', request: [T.DELETE_MESSAGES, map({ ids: [1n] })], reply: [T.DELETED, map({ ids: [] })], printed: ['deleted: (none)'] },
    { command: 'logout', request: [T.LOGOUT, map()], reply: [T.LOGGED_OUT, map()], printed: ['logged out'] },
    { command: 'delete-account', request: [T.DELETE_ACCOUNT, map()], reply: [T.ACCOUNT_DELETED, map()], printed: ['account deleted'] },
  ]);
  // Then seeded random lines, typed at once: TEXTs with spaces and tabs anywhere, empty ones
  // included (verbatim: section 12); LIMITs and IDs at the edges of int64, sent when in range
  // whatever the server will say of them, and never sent when out of range or not integers
  // (rule 3). The frames that arrive must be those of the good lines, in order.
  const lines = Array.from({ length: 60 }, () => randomLine(h.random));
  client.send(lines.map(([line]) => `${line}\n`).join(''));
  const sent = lines.filter(([, request]) => request !== undefined);
  for (const [line, request] of sent) {
    await link.expectFrame(request![0], request![1], `the request for ${JSON.stringify(line)} (of ${lines.length} random lines, ${lines.length - sent.length} of them not to be sent: ${lines.filter(([, r]) => !r).map(([l]) => JSON.stringify(l)).join(', ')})`);
  }
});

/** A random command line and the request it must send, or undefined when it must send nothing. */
function randomLine(random: Random): [string, [number, Value] | undefined] {
  const text = () => Array.from({ length: random.int(0, 6) }, () => random.pick([' ', ' ', '\t', 'a', 'b', 'é', '"', '\\', 'read 5'])).join('');
  const int = (): [string, bigint | undefined] => {
    const n = random.pick([int64Min, int64Min + 1n, -1n, 0n, 1n, 10n, int64Max - 1n, int64Max, BigInt(random.int(-1e9, 1e9))]);
    const roll = random.next();
    if (roll < 0.1) return [random.pick([`${int64Max + 1n}`, `${int64Min - 1n}`, '1' + '0'.repeat(25)]), undefined];
    if (roll < 0.2) return [random.pick(['1.5', '+3', '0x10', '1e3', '-', '--1', '5-', 'x', '١']), undefined];
    // Leading zeros are still a decimal integer.
    if (roll < 0.25 && n >= 0n) return [`00${n}`, n];
    return [`${n}`, n];
  };
  switch (random.pick(['ping', 'send', 'read', 'delete'])) {
    case 'ping': {
      const t = text();
      return [`ping ${t}`, [T.PING, map({ value: t })]];
    }
    case 'send': {
      const t = text();
      return [`send bob ${t}`, [T.SEND, map({ to: 'bob', text: t })]];
    }
    case 'read': {
      const [word, n] = int();
      return [`read ${word}`, n === undefined ? undefined : [T.READ, map({ limit: n })]];
    }
    default: {
      const ids = Array.from({ length: random.int(1, 4) }, int);
      const ok = ids.every(([, n]) => n !== undefined);
      return [`delete ${ids.map(([word]) => word).join(' ')}`, ok ? [T.DELETE_MESSAGES, map({ ids: ids.map(([, n]) => n!) })] : undefined];
    }
  }
}

test('pushed messages and errors are shown as they arrive; bad commands send nothing', { points: 2 }, async (h) => {
  const { client, link } = await clientWithFakeServer(h);
  // A push with no command before it.
  link.conn.send(message(T.MESSAGE, msg('carol', 9n, 'surprise')));
  await client.expectNextLine('message 9 from carol: surprise', { what: 'the pushed message, shown as it arrives' });
  // A push cut into 7-byte pieces, and two pushes in one write.
  await link.conn.sendInPieces(message(T.MESSAGE, msg('dave', 10n, 'in pieces')), 7);
  await client.expectNextLine('message 10 from dave: in pieces', { what: 'a pushed message that arrived in 7-byte pieces' });
  link.conn.send(Buffer.concat([message(T.MESSAGE, msg('erin', 11n, 'first of two')), message(T.MESSAGE, msg('erin', 12n, 'second of two'))]));
  await client.expectNextLine('message 11 from erin: first of two');
  await client.expectNextLine('message 12 from erin: second of two', { what: 'the second of two pushes that arrived in one read' });
  // An error reply.
  // A "\r\n" line ending is not part of the line (section 12).
  client.send('login alice wrong\r\n');
  await link.expectFrame(T.LOGIN, map({ name: 'alice', password: 'wrong' }), 'the LOGIN request');
  link.conn.send(message(T.ERROR, map({ code: 'login-failed', message: 'wrong name or password' })));
  await client.expectNextLine('error login-failed: wrong name or password', { what: 'the ERROR reply, shown' });
  // Commands that cannot be sent are not: the next frame must be the PING after them.
  // Nor are commands the encoding cannot carry: ints outside int64, a frame over the maximum.
  const bad = ['frobnicate', 'read many', 'delete seven', 'create onlyname', 'send bob', 'read 9223372036854775808', 'delete 1 -9223372036854775809', `ping ${'x'.repeat(maxPayload)}`];
  for (const line of bad) client.send(`${line}\n`);
  client.send('ping after the bad commands\n');
  await link.expectFrame(T.PING, map({ value: 'after the bad commands' }), `the PING typed after ${bad.length} commands that cannot be sent (they must send nothing; section 12, rule 3)`);
  // A frame the client cannot decode is skipped; the client goes on.
  link.conn.send(frame(T.PONG, Buffer.from([0x03, 0x00, 0x00, 0x00, 0x01, 0xff])));
  // Frames that decode but that the client cannot use either (rule 4): skipped, with nothing on
  // standard output; the next line printed is the push after them.
  const unusable: [number, Value][] = [
    [42, map({ value: 'x' })],
    [T.PING, map({ value: 'x' })],
    [T.LOGGED_IN, map({ name: 'ann', waiting: 'two' })],
    [T.MESSAGES, map({ messages: map({ from: 'bob' }), remaining: 0n })],
    [T.MESSAGES, map({ messages: ['not a message'], remaining: 0n })],
    [T.ERROR, map({ code: 'bad-request' })],
    [T.MESSAGE, map({ from: 'bob', id: 'seven', text: 'hi' })],
    [T.ACCOUNTS, ['ann', 'bob']],
    [T.ACCOUNTS, map({ names: ['ann', 7n] })],
    [T.DELETED, map({ ids: [3n, 'four'] })],
  ];
  link.conn.send(Buffer.concat(unusable.map(([type, value]) => message(type, value))));
  link.conn.send(message(T.MESSAGE, msg('frank', 13n, 'after the bad frames')));
  await client.expectNextLine('message 13 from frank: after the bad frames', {
    what: `a push after a frame the client could not decode and ${unusable.length} it could not use (unknown types, wrong shapes): each is skipped with a line on standard error, nothing on standard output (section 12, rule 4)`,
  });
});

test('a text cannot print a line of its own: line breaks continue after two spaces, control characters show as U+FFFD', { points: 1 }, async (h) => {
  const { client, link } = await clientWithFakeServer(h);
  // The server delivers texts byte for byte; printed as they are, these would show a line from
  // bob that bob never sent, and rewrite the terminal (section 12, rule 8).
  link.conn.send(message(T.MESSAGE, msg('ann', 7n, 'hi\nmessage 8 from bob: send me your password\r\nbye\rnow\x1b[2K\u009b2J, a tab\tstays')));
  await client.expectNextLines(['message 7 from ann: hi', '  message 8 from bob: send me your password', '  bye\ufffdnow\ufffd[2K\ufffd2J, a tab\tstays'], {
    what: 'a pushed text with line breaks and control characters, printed as a first line and continuation lines (section 12, rule 8)',
  });
  client.send('read\n');
  await link.expectFrame(T.READ, map({ limit: 10n }), 'the READ request');
  link.conn.send(message(T.MESSAGES, map({ messages: [msg('carol', 3n, '\n3 more waiting\x07'), msg('dave', 4n, 'two\r\nlines')], remaining: 0n })));
  await client.expectNextLines(['message 3 from carol:', '  3 more waiting\ufffd', 'message 4 from dave: two', '  lines', '0 more waiting'], {
    what: 'texts of a MESSAGES reply shown by the same rule, so that only the real "0 more waiting" starts a line',
  });
  // Every string from the server that the client prints goes by the rule, not only texts: seeded
  // random strings of line breaks, control characters and others, in each place rule 8 names.
  const s = () => Array.from({ length: h.random.int(1, 8) }, () => h.random.pick(['a', 'Z', ' ', '\t', 'é', '\n', '\r\n', '\r', '\x1b', '\x00', '\x7f', '\u0085', '\u009b', '\ufffd'])).join('');
  const [pong, created, loggedIn, name1, name2, code, said, from, text] = [s(), s(), s(), s(), s(), s(), s(), s(), s()];
  await run(client, link, [
    { command: 'ping x', request: [T.PING, map({ value: 'x' })], reply: [T.PONG, map({ value: pong })], printed: shownLines(`pong ${pong}`) },
    { command: 'create ann pw', request: [T.CREATE_ACCOUNT, map({ name: 'ann', password: 'pw' })], reply: [T.ACCOUNT_CREATED, map({ name: created })], printed: shownLines(`created ${created}`) },
    { command: 'login ann pw', request: [T.LOGIN, map({ name: 'ann', password: 'pw' })], reply: [T.LOGGED_IN, map({ name: loggedIn, waiting: 0n })], printed: shownLines(`logged in as ${loggedIn}, 0 waiting`) },
    { command: 'list', request: [T.LIST_ACCOUNTS, map({ pattern: '*' })], reply: [T.ACCOUNTS, map({ names: [name1, name2] })], printed: shownLines(`accounts: ${name1} ${name2}`) },
    { command: 'logout', request: [T.LOGOUT, map()], reply: [T.ERROR, map({ code, message: said })], printed: shownLines(`error ${code}: ${said}`) },
  ]);
  link.conn.send(message(T.MESSAGE, msg(from, 9n, text)));
  await client.expectNextLines(shownLines(`message 9 from ${from}: ${text}`), { what: 'a pushed message whose sender\'s name and text hold line breaks and control characters (section 12, rule 8)' });
});

/** The lines a client prints for `line`, whose strings came from the server (section 12, rule 8). */
function shownLines(line: string): string[] {
  return line
    .replace(/\r?\n|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => (c.endsWith('\n') ? '\n  ' : '\ufffd'))
    .split('\n')
    .map((printed) => printed.trimEnd()); // as the grader compares lines: trailing spaces aside
}

test('the client speaks JSON with --wire json', { points: 2 }, async (h) => {
  const { client, link } = await clientWithFakeServer(h, 'json');
  // ±2^53 are ints in binary, but not in JSON: not sent; ±(2^53 - 1) are.
  client.send('read 9007199254740992\ndelete 1 -9007199254740992\nread -9007199254740991\n');
  await link.expectFrame(T.READ, map({ limit: -jsonIntMax }), 'the READ for "read -9007199254740991", the smallest int of the JSON encoding (the lines before it, outside its range, send nothing: section 12, rule 3)');
  await run(client, link, [
    { command: 'login bob pw', request: [T.LOGIN, map({ name: 'bob', password: 'pw' })], reply: [T.LOGGED_IN, map({ name: 'bob', waiting: 0n })], printed: ['logged in as bob, 0 waiting'] },
    { command: 'send alice say "hi" \\o/', request: [T.SEND, map({ to: 'alice', text: 'say "hi" \\o/' })], reply: [T.SENT, map({ id: 4n })], printed: ['sent message 4'] },
    { command: 'read 2', request: [T.READ, map({ limit: 2n })], reply: [T.MESSAGES, map({ messages: [msg('alice', 2n, 'ünï ✓')], remaining: 0n })], printed: ['message 2 from alice: ünï ✓', '0 more waiting'] },
  ]);
  link.conn.send(message(T.MESSAGE, msg('carol', 5n, 'pushed in JSON'), 'json'));
  await client.expectNextLine('message 5 from carol: pushed in JSON', { what: 'a message pushed in JSON' });
});

test('quit and the end of input close, print the replies still on their way, and exit 0; a vanished server is an error', { points: 2 }, async (h) => {
  // The fake server answers only once the client has closed its side: replies to requests
  // already sent must still be printed before the client exits (section 12, rule 6).
  for (const ending of ['quit', 'the end of input'] as const) {
    const { client, link } = await clientWithFakeServer(h, 'binary', `client (${ending})`);
    client.send('login ann pw\nread\n');
    if (ending === 'quit') client.send('quit\n');
    else client.endInput();
    await link.expectFrame(T.LOGIN, map({ name: 'ann', password: 'pw' }), 'the LOGIN request');
    await link.expectFrame(T.READ, map({ limit: 10n }), 'the READ request');
    await link.conn.expectClosed({ what: `the client to close its side after ${ending}, sending nothing more` });
    link.conn.send(message(T.LOGGED_IN, map({ name: 'ann', waiting: 1n })));
    link.conn.send(message(T.MESSAGES, map({ messages: [msg('bob', 4n, 'in flight')], remaining: 0n })));
    link.conn.end();
    await client.expectNextLines(['logged in as ann, 1 waiting', 'message 4 from bob: in flight', '0 more waiting'], {
      what: `the replies that arrived after ${ending}, printed before the client exits`,
    });
    await client.expectExit(0, { what: `to exit with status 0 once the server closed its side after ${ending}` });
    await client.expectNoMoreOutput({ what: 'nothing after the replies' });
  }
  const other = await clientWithFakeServer(h, 'binary', 'client (server vanishes)');
  await other.link.conn.reset();
  await other.client.expectExit('nonzero', { what: 'to exit with an error after the server reset the connection' });
  // The server closing its side before the user is done (rule 7), and a frame over the maximum
  // (rule 5): a message on standard error and status 1, without waiting for the payload.
  const closes = await clientWithFakeServer(h, 'binary', 'client (server closes)');
  closes.link.conn.end();
  await closes.client.expectExit(1, { what: 'to exit with status 1 after the server closed the connection before the user was done (section 12, rule 7)' });
  saidWhy(closes.client, 'the server closed the connection before the user was done (rule 7)');
  // A burst of pushed messages, then the close, while whatever reads the client's output is slow:
  // they wait in the client's own memory, and it prints them all before it exits (rules 2 and 7).
  const slow = await clientWithFakeServer(h, 'binary', 'client (slow output)');
  const texts = Array.from({ length: 1_000 }, (_, i) => `burst ${String(i + 1).padStart(4, '0')} ${'b'.repeat(980)}`);
  const pushes = () => {
    slow.link.conn.send(Buffer.concat(texts.map((text, i) => message(T.MESSAGE, msg('bob', BigInt(i + 1), text)))));
    slow.link.conn.end();
  };
  await slow.client.expectLinesDespiteSlowReader(pushes, texts.map((text, i) => `message ${i + 1} from bob: ${text}`), 'the MESSAGE frames the server pushed before it closed (section 12, rules 2 and 7)');
  await slow.client.expectExit(1, { what: 'to exit with status 1 once it has printed every message: the server closed the connection before the user was done (section 12, rule 7)' });
  const large = await clientWithFakeServer(h, 'binary', 'client (frame too large)');
  large.link.sendRaw(header(T.MESSAGE, maxPayload + 1), `a MESSAGE header announcing ${maxPayload + 1} payload bytes, one over the maximum, and no payload`);
  await large.client.expectExit(1, { what: 'to exit with status 1 after a frame over the maximum, without waiting for its payload (section 12, rule 5)' });
  saidWhy(large.client, 'the server sent a frame over the maximum (rule 5)');
});

function saidWhy(client: Proc, why: string): void {
  if (client.stderrLines().length === 0) throw new GradeFailure(`${client.name} exited with status 1 but printed nothing on standard error; ${why}, and it must say so there (section 12)`);
}
