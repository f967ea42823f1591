import lab from '../lab.js';
import { phase } from '../../../grader/harness/index.js';
import { Peer, createAccount, login } from './peer.js';
import { T, map } from './wire.js';

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
  for (const name of ['', 'x'.repeat(33), 'al ice', 'bob*', 'who?', 'josé', 'a/b', 'tab\there']) {
    peer.send(T.CREATE_ACCOUNT, map({ name, password: 'pw' }));
    await peer.expectError('bad-name', `an ERROR "bad-name" for the name ${JSON.stringify(name)}`);
  }
  for (const name of ['x'.repeat(32), 'a.b_c-D9', '7', '-', 'Z']) await createAccount(peer, name, 'pw');
});

test('log in: wrong password, unknown name, then the right one', { points: 3 }, async (h) => {
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
});

test('list accounts with wildcard patterns', { points: 3 }, async (h) => {
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  const names = ['alice', 'alicia', 'al', 'bob', 'bobby', 'Bob', 'a.b', 'x_y-z', 'b0b'];
  for (const name of names) await createAccount(peer, name);
  await login(peer, 'al');
  const cases: [string, string[]][] = [
    ['*', ['Bob', 'a.b', 'al', 'alice', 'alicia', 'b0b', 'bob', 'bobby', 'x_y-z']],
    ['al*', ['al', 'alice', 'alicia']],
    ['ali?e', ['alice']],
    ['*b*', ['Bob', 'a.b', 'b0b', 'bob', 'bobby']],
    ['*b', ['Bob', 'a.b', 'b0b', 'bob']],
    ['b?b', ['b0b', 'bob']],
    // Only * and ? are wildcards: a "." matches itself, not any character as in a regular expression.
    ['b.b', []],
    ['a.b', ['a.b']],
    ['bob', ['bob']],
    ['?', []],
    ['??', ['al']],
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
});

test('delete an account', { points: 2 }, async (h) => {
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
