import lab from '../lab.js';
import { GradeFailure, phase, type Random } from '../../../grader/harness/index.js';
import { Peer, createAccount, login } from './peer.js';
import { T, header, map, maxPayload, message, show, type Value } from './wire.js';

const test = phase(lab, '3.3');

test('create an account; a second one with the same name is refused', { points: 2 }, async (h) => {
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  await createAccount(peer, 'alice', 's3cret');
  peer.send(T.CREATE_ACCOUNT, map({ name: 'alice', password: 'another' }));
  await peer.expectError('name-taken', 'an ERROR "name-taken" for a second account named alice');
  // Names are case-sensitive: Alice is someone else.
  await createAccount(peer, 'Alice', 's3cret');
  const other = await Peer.connect(h, server, { name: 'second client' });
  other.send(T.CREATE_ACCOUNT, map({ name: 'alice', password: 'x' }));
  await other.expectError('name-taken', 'an ERROR "name-taken" for alice, from another connection');
});

test('names outside the rules are refused', { points: 2 }, async (h) => {
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  // Every character that is not A-Z a-z 0-9 _ . - (all of ASCII, and some beyond), alone, first,
  // inside and last. A character class such as [A-z] also holds [ \ ] ^ and `; a pattern whose "$"
  // matches before a final line break lets "ab\n" through; a case-blind Unicode one, the Kelvin
  // sign and the long s.
  const allowed = /^[A-Za-z0-9_.-]$/;
  const ascii = Array.from({ length: 128 }, (_, code) => String.fromCharCode(code)).filter((c) => !allowed.test(c));
  const others = ['é', '\u00a0', 'Ａ', '١', '\u017f', '\u212a', '😀'];
  const bad = ['', 'x'.repeat(33), 'al ice', 'josé', ...[...ascii, ...others].flatMap((c) => [c, `${c}ab`, `a${c}b`, `ab${c}`])];
  // All in one write: a refused name is not hashed, so this is quick.
  peer.sendRaw(Buffer.concat(bad.map((name) => message(T.CREATE_ACCOUNT, map({ name, password: 'pw' })))), `${bad.length} CREATE_ACCOUNTs with names outside the rules, in one write`);
  for (const name of bad) await peer.expectError('bad-name', `an ERROR "bad-name" for the name ${JSON.stringify(name)} (section 8: only A-Z a-z 0-9 _ . -)`);
  for (const name of ['x'.repeat(32), 'a.b_c-D9', '7', '-', 'Z', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz', '0123456789_.-']) await createAccount(peer, name, 'pw');
});

test('log in: wrong password, unknown name, then the right one', { points: 2 }, async (h) => {
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  await createAccount(peer, 'alice', 'right');
  peer.send(T.LOGIN, map({ name: 'alice', password: 'wrong' }));
  await peer.expectError('login-failed', 'an ERROR "login-failed" for a wrong password');
  peer.send(T.LOGIN, map({ name: 'nobody', password: 'right' }));
  await peer.expectError('login-failed', 'an ERROR "login-failed" for a name no account has');
  peer.send(T.LOGIN, map({ name: 'Alice', password: 'right' }));
  await peer.expectError('login-failed', 'an ERROR "login-failed" for "Alice": names are case-sensitive');
  peer.send(T.LOGIN, map({ name: 'alice', password: '' }));
  await peer.expectError('bad-request', 'an ERROR "bad-request" for a LOGIN with an empty password (section 5.3)');
  await login(peer, 'alice', 0, 'right');
  peer.send(T.LOGIN, map({ name: 'alice', password: 'right' }));
  await peer.expectError('already-logged-in', 'an ERROR "already-logged-in" for a LOGIN on a logged-in connection');
  peer.send(T.LOGIN, map({ name: 'alice', password: '' }));
  await peer.expectError('bad-request', 'an ERROR "bad-request" for an empty password, even logged in: the shape is checked before the request\'s own errors (sections 5.3 and 6)');
  // Still logged in as alice: a request that needs a login works.
  peer.send(T.LIST_ACCOUNTS, map({ pattern: 'alice' }));
  await peer.expectReply(T.ACCOUNTS, map({ names: ['alice'] }), 'ACCOUNTS ["alice"]: the connection is still logged in');
});

test('sessions: login needed, one connection per account, logout and close free it', { points: 3 }, async (h) => {
  const server = await h.start();
  const first = await Peer.connect(h, server, { name: 'first' });
  await createAccount(first, 'alice');
  const needLogin: [number, ReturnType<typeof map>][] = [
    [T.LOGOUT, map()],
    [T.LIST_ACCOUNTS, map({ pattern: '*' })],
    [T.SEND, map({ to: 'alice', text: 'hi' })],
    [T.READ, map({ limit: 1n })],
    [T.DELETE_MESSAGES, map({ ids: [1n] })],
    [T.DELETE_ACCOUNT, map()],
  ];
  for (const [type, payload] of needLogin) {
    first.send(type, payload);
    await first.expectError('not-logged-in', `an ERROR "not-logged-in" for type ${type} sent before any LOGIN`);
  }
  // Section 6's order: the login state is checked before the payload's shape.
  first.send(T.READ, map({ limit: 'ten' }));
  await first.expectError('not-logged-in', 'an ERROR "not-logged-in" (not "bad-request") for a malformed READ before any LOGIN: the login is checked first');
  await login(first, 'alice');
  const second = await Peer.connect(h, server, { name: 'second' });
  // Section 5.3's order: a wrong password is "login-failed" even while the account is busy.
  second.send(T.LOGIN, map({ name: 'alice', password: 'wrong' }));
  await second.expectError('login-failed', 'an ERROR "login-failed" for a wrong password, though alice is logged in elsewhere: the password is checked before "account-busy"');
  second.send(T.LOGIN, map({ name: 'alice', password: 'pw-alice' }));
  await second.expectError('account-busy', 'an ERROR "account-busy": alice is logged in on the first connection');
  first.send(T.LOGOUT, map());
  await first.expectReply(T.LOGGED_OUT, map(), 'LOGGED_OUT');
  first.send(T.LIST_ACCOUNTS, map({ pattern: '*' }));
  await first.expectError('not-logged-in', 'an ERROR "not-logged-in" after LOGOUT');
  await login(second, 'alice');
  // Closing the connection logs it out too. The server's closing its side shows it has seen ours.
  // The frames that arrived with the FIN are still answered, as a logged-in connection (section 7).
  second.send(T.LIST_ACCOUNTS, map({ pattern: 'ali*' }));
  second.conn.end();
  await second.expectReply(T.ACCOUNTS, map({ names: ['alice'] }), 'ACCOUNTS ["alice"] for the LIST_ACCOUNTS sent just before the FIN: it is answered, logged in');
  await second.conn.expectClosed({ what: 'the server to close the second connection after the client closed it' });
  const third = await Peer.connect(h, server, { name: 'third' });
  await login(third, 'alice');
  // A reset and a close for a frame over the maximum free the account too (section 7).
  await third.conn.reset();
  const fourth = await Peer.connect(h, server, { name: 'fourth' });
  await loginAfterClose(fourth, 'alice', 'the third connection, logged in as alice, was reset');
  fourth.sendRaw(header(T.PING, maxPayload + 1), 'a header announcing a payload over the maximum');
  await fourth.expectError('frame-too-large', 'an ERROR "frame-too-large"');
  await fourth.conn.expectClosed({ what: 'the server to close the fourth connection after "frame-too-large"' });
  const fifth = await Peer.connect(h, server, { name: 'fifth' });
  await loginAfterClose(fifth, 'alice', 'the server closed the fourth connection, logged in as alice, for a frame over the maximum');
});

/**
 * A LOGIN just after another connection of the account closed. The server frees the account when
 * it sees the close, and for a reset nothing tells the grader when that is: so "account-busy" is
 * tried again, after a PING round trip, a few times before it counts as the account never freed.
 */
async function loginAfterClose(peer: Peer, name: string, how: string): Promise<void> {
  const what = `LOGGED_IN for "${name}": ${how}, and a closed connection frees its account at once (section 7)`;
  for (let tries = 1; ; tries++) {
    peer.send(T.LOGIN, map({ name, password: `pw-${name}` }));
    const frame = await peer.readReply(what);
    const value = frame.type === BigInt(T.ERROR) ? peer.decode(frame, what) : undefined;
    if (!(value instanceof Map && value.get('code') === 'account-busy')) {
      peer.check(frame, T.LOGGED_IN, map({ name, waiting: 0n }), what);
      return;
    }
    if (tries === 20) throw new GradeFailure(`${peer.name} expected ${what}, and got "account-busy" ${tries} times in a row`);
    await peer.ping('a PONG before trying the LOGIN again');
  }
}

test('list accounts with wildcard patterns', { points: 3 }, async (h) => {
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  const names = ['alice', 'alicia', 'al', 'bob', 'bobby', 'Bob', 'a.b', 'x_y-z', 'b0b', 'a-b', '_.-', 'A9.z-_'];
  for (const name of names) await createAccount(peer, name);
  await login(peer, 'al');
  const cases: [string, string[]][] = [
    ['*', ['A9.z-_', 'Bob', '_.-', 'a-b', 'a.b', 'al', 'alice', 'alicia', 'b0b', 'bob', 'bobby', 'x_y-z']],
    ['al*', ['al', 'alice', 'alicia']],
    ['ali?e', ['alice']],
    ['*b*', ['Bob', 'a-b', 'a.b', 'b0b', 'bob', 'bobby']],
    ['*b', ['Bob', 'a-b', 'a.b', 'b0b', 'bob']],
    ['b?b', ['b0b', 'bob']],
    // Only * and ? are wildcards: a "." matches itself, not any character as in a regular expression.
    ['b.b', []],
    ['a.b', ['a.b']],
    ['a?b', ['a-b', 'a.b']],
    ['bob', ['bob']],
    ['?', []],
    ['??', ['al']],
    ['???', ['Bob', '_.-', 'a-b', 'a.b', 'b0b', 'bob']],
    // "?" is exactly one character, never none: "a?l" is not "al".
    ['a?l', []],
    ['*i*i*', ['alicia']],
    ['x*', ['x_y-z']],
    ['B*', ['Bob']],
    ['nobody*', []],
    ['', []],
  ];
  for (const [pattern, expected] of cases) {
    peer.send(T.LIST_ACCOUNTS, map({ pattern }));
    await peer.expectReply(T.ACCOUNTS, map({ names: expected }), `ACCOUNTS for the pattern ${JSON.stringify(pattern)} (ascending byte order)`);
  }
  // Then seeded random patterns, most made from a name: "?" for some characters, "*" for some
  // runs, characters that mean something in a RegExp or a shell glob. Only "*" and "?" are special.
  const patterns = Array.from({ length: 120 }, () => randomPattern(h.random, names));
  peer.sendRaw(Buffer.concat(patterns.map((pattern) => message(T.LIST_ACCOUNTS, map({ pattern })))), `${patterns.length} LIST_ACCOUNTS with seeded random patterns, in one write`);
  for (const pattern of patterns) {
    const expected = names.filter((name) => wildcard(pattern, name)).sort();
    await peer.expectReply(T.ACCOUNTS, map({ names: expected }), `ACCOUNTS for the pattern ${JSON.stringify(pattern)}: "*" is any run of characters, "?" one character, any other character itself (section 8)`);
  }
});

const specials = ['*', '?', '.', '+', '|', '(', ')', '[', ']', '^', '$', '\\', '{', '}', '!', '-', '_'];

function randomPattern(random: Random, names: string[]): string {
  if (random.chance(0.2)) return Array.from({ length: random.int(1, 6) }, () => random.pick([...specials, 'a', 'b', 'o', 'B', '0'])).join('');
  let pattern = '';
  const name = random.pick(names);
  for (let i = 0; i < name.length; i++) {
    const roll = random.next();
    if (roll < 0.2) pattern += '?';
    else if (roll < 0.35) {
      pattern += '*';
      i += random.int(0, 3) - 1;
    } else if (roll < 0.42) pattern += random.pick(specials);
    else pattern += name[i];
  }
  return random.chance(0.2) ? `${pattern}*` : pattern;
}

/** Section 8's rule, written plainly: can[j] says whether the pattern so far matches the name's first j characters. */
function wildcard(pattern: string, name: string): boolean {
  const s = [...name];
  let can = s.map(() => false);
  can.unshift(true);
  for (const c of pattern) {
    const next = can.map(() => false);
    for (let j = 0; j <= s.length; j++) {
      if (c === '*') next[j] = can[j]! || (j > 0 && next[j - 1]!);
      else next[j] = j > 0 && can[j - 1]! && (c === '?' || c === s[j - 1]);
    }
    can = next;
  }
  return can[s.length]!;
}

test('requests sent together are answered in order, each as if sent alone', { points: 2 }, async (h) => {
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  // A seeded random run of requests, all in one write, and the replies a model of sections 5 and 7
  // predicts. A reply that waits for something slow (a password hash) must not be overtaken.
  const random = h.random;
  const accounts: string[] = [];
  let loggedIn: string | undefined;
  const steps: { request: Buffer; label: string; reply: [number, Value] | string }[] = [];
  const step = (type: number, payload: Value, reply: [number, Value] | string) => steps.push({ request: message(type, payload), label: `${Object.entries(T).find(([, n]) => n === type)![0]} ${show(payload)}`, reply });
  for (let i = 0; i < 40; i++) {
    const known = accounts.length > 0 ? random.pick(accounts) : undefined;
    switch (random.pick(['ping', 'ping', 'create', 'create', 'login', 'login', 'wrong', 'logout', 'list', 'read'])) {
      case 'ping':
        step(T.PING, map({ value: [BigInt(i), `ping ${i}`] }), [T.PONG, map({ value: [BigInt(i), `ping ${i}`] })]);
        break;
      case 'create':
        if (known && random.chance(0.3)) step(T.CREATE_ACCOUNT, map({ name: known, password: 'pw' }), 'name-taken');
        else {
          accounts.push(`user${i}`);
          step(T.CREATE_ACCOUNT, map({ name: `user${i}`, password: `pw-user${i}` }), [T.ACCOUNT_CREATED, map({ name: `user${i}` })]);
        }
        break;
      case 'login':
      case 'wrong': {
        const name = known ?? 'nobody';
        const right = name !== 'nobody' && random.chance(0.7);
        const reply: [number, Value] | string = loggedIn ? 'already-logged-in' : right ? [T.LOGGED_IN, map({ name, waiting: 0n })] : 'login-failed';
        if (!loggedIn && right) loggedIn = name;
        step(T.LOGIN, map({ name, password: right ? `pw-${name}` : 'wrong' }), reply);
        break;
      }
      case 'logout':
        step(T.LOGOUT, map(), loggedIn ? [T.LOGGED_OUT, map()] : 'not-logged-in');
        loggedIn = undefined;
        break;
      case 'list':
        step(T.LIST_ACCOUNTS, map({ pattern: '*' }), loggedIn ? [T.ACCOUNTS, map({ names: [...accounts].sort() })] : 'not-logged-in');
        break;
      case 'read':
        step(T.READ, map({ limit: 5n }), loggedIn ? [T.MESSAGES, map({ messages: [], remaining: 0n })] : 'not-logged-in');
        break;
    }
  }
  peer.sendRaw(Buffer.concat(steps.map((s) => s.request)), `${steps.length} requests in one write: ${steps.map((s) => s.label).join(', ')}`);
  for (const [i, { label, reply }] of steps.entries()) {
    const what = `the reply to request ${i + 1} of ${steps.length}, ${label}: replies come in the order of the requests (section 1)`;
    if (typeof reply === 'string') await peer.expectError(reply, what);
    else await peer.expectReply(reply[0], reply[1], what);
  }
});

test('delete an account', { points: 1 }, async (h) => {
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  await createAccount(peer, 'alice', 'old');
  await createAccount(peer, 'bob');
  await login(peer, 'alice', 0, 'old');
  peer.send(T.DELETE_ACCOUNT, map());
  await peer.expectReply(T.ACCOUNT_DELETED, map(), 'ACCOUNT_DELETED');
  peer.send(T.READ, map({ limit: 1n }));
  await peer.expectError('not-logged-in', 'an ERROR "not-logged-in": deleting the account logs the connection out');
  peer.send(T.LOGIN, map({ name: 'alice', password: 'old' }));
  await peer.expectError('login-failed', 'an ERROR "login-failed" for the deleted account');
  await login(peer, 'bob');
  peer.send(T.LIST_ACCOUNTS, map({ pattern: '*' }));
  await peer.expectReply(T.ACCOUNTS, map({ names: ['bob'] }), 'ACCOUNTS without the deleted alice');
  // The name is free again, for a new account with a new password.
  await createAccount(peer, 'alice', 'new');
  const other = await Peer.connect(h, server, { name: 'second client' });
  other.send(T.LOGIN, map({ name: 'alice', password: 'old' }));
  await other.expectError('login-failed', 'an ERROR "login-failed" for the old password of the new alice');
  await login(other, 'alice', 0, 'new');
});
