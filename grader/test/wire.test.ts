// The wire helpers against servers written right here: every expectation passes on the right
// data, and fails on the wrong data with a message that says what was expected and what came.
import net from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { Conn } from '../harness/wire.js';
import { Transcript } from '../harness/transcript.js';
import { hexDiff, textDiff } from '../harness/show.js';

const servers: net.Server[] = [];
const conns: Conn[] = [];
const accepted: net.Socket[] = [];

/** A server whose every connection is handed to `serve`; returns a connected Conn. */
async function talkTo(serve: (socket: net.Socket) => void): Promise<Conn> {
  const server = net.createServer((socket) => {
    accepted.push(socket);
    socket.on('error', () => undefined);
    serve(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const conn = await Conn.connect((server.address() as net.AddressInfo).port, { transcript: new Transcript() });
  conns.push(conn);
  return conn;
}

afterEach(async () => {
  for (const conn of conns.splice(0)) conn.destroy();
  for (const socket of accepted.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

test('expectLine passes on the line, and joins a line split across writes', async () => {
  const conn = await talkTo((s) => {
    s.write('hel');
    setTimeout(() => s.write('lo\nworld\n'), 20);
  });
  await conn.expectLine('hello');
  await conn.expectLine(/^wor/);
});

test('expectLine fails with a diff of expected against got', async () => {
  const conn = await talkTo((s) => s.write('hellp\n'));
  await expect(conn.expectLine('hello', { what: 'the greeting' })).rejects.toThrow(/got the wrong line for the greeting:\n- expected hello\n\+ got {6}hellp/);
});

test('a wait that expires says what it waited for and what it got', async () => {
  const conn = await talkTo((s) => s.write('partial'));
  await expect(conn.expectLine('done', { timeoutMs: 200 })).rejects.toThrow(/waited for the line "done" and got only "partial" with no newline within 0\.2 s; the connection is still open/);
});

test('a connection closed before the line arrives fails at once, not at the deadline', async () => {
  const conn = await talkTo((s) => s.end('no newline'));
  const started = Date.now();
  await expect(conn.expectLine('x', { timeoutMs: 5_000 })).rejects.toThrow(/the other side closed the connection/);
  expect(Date.now() - started).toBeLessThan(2_000);
});

test('expectBytes compares byte for byte, and shows a hex diff pointing at the first difference', async () => {
  const good = await talkTo((s) => s.write(Buffer.from([0, 1, 2, 255])));
  await good.expectBytes(Buffer.from([0, 1, 2, 255]));
  const bad = await talkTo((s) => s.write(Buffer.from([0, 1, 9, 255])));
  const error = await bad.expectBytes(Buffer.from([0, 1, 2, 255])).catch((e: Error) => e);
  expect(String(error)).toContain('first difference at byte 2: expected 0x02, got 0x09');
  expect(String(error)).toContain('00000000  00 01 09 ff');
});

test('expectBytes fails early when the first bytes already differ', async () => {
  const conn = await talkTo((s) => s.write('X'));
  const started = Date.now();
  await expect(conn.expectBytes(Buffer.from('hello'), { timeoutMs: 5_000 })).rejects.toThrow(/first difference at byte 0/);
  expect(Date.now() - started).toBeLessThan(2_000);
});

test('expectClosed passes on a close, and fails on data or on an open connection', async () => {
  const closing = await talkTo((s) => s.end());
  await closing.expectClosed();
  const chatty = await talkTo((s) => s.end('surprise'));
  await expect(chatty.expectClosed()).rejects.toThrow(/but first got "surprise"/);
  const open = await talkTo(() => undefined);
  await expect(open.expectClosed({ timeoutMs: 150 })).rejects.toThrow(/within 0\.1 s; the connection is still open|within 0\.2 s; the connection is still open/);
});

test('expectSilence passes on silence and fails on data', async () => {
  const quiet = await talkTo(() => undefined);
  await quiet.expectSilence(100);
  const loud = await talkTo((s) => setTimeout(() => s.write('boo\n'), 30));
  await expect(loud.expectSilence(1_000)).rejects.toThrow(/expected nothing for 1\.0 s, but got "boo\\n"/);
});

test('a reset is seen as one by the other side', async () => {
  let resolveSeen: (code: string) => void;
  let resolveData: () => void;
  const seen = new Promise<string>((resolve) => (resolveSeen = resolve));
  const data = new Promise<void>((resolve) => (resolveData = resolve));
  const conn = await talkTo((s) => {
    s.on('data', () => resolveData());
    s.on('error', (e: NodeJS.ErrnoException) => resolveSeen(e.code ?? ''));
    s.on('end', () => resolveSeen('FIN'));
  });
  conn.send('x');
  await data;
  await conn.reset();
  expect(await seen).toBe('ECONNRESET');
});

test('connecting to a port where nothing listens says so', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  await expect(Conn.connect(port)).rejects.toThrow(new RegExp(`could not connect to 127\\.0\\.0\\.1:${port}: connection refused`));
});

test('a peer that floods is paused, not buffered without bound', async () => {
  const chunk = Buffer.alloc(1024 * 1024, 1);
  let written = 0;
  const conn = await talkTo((s) => {
    const pour = () => {
      while (written < 256 * 1024 * 1024 && s.write(chunk)) written += chunk.length;
      if (written < 256 * 1024 * 1024) s.once('drain', pour);
    };
    pour();
  });
  await conn.expectSilence(300, { what: 'time to fill the buffers' }).catch(() => undefined);
  expect(conn.unread).toBeLessThan(40 * 1024 * 1024);
  expect(written).toBeLessThan(128 * 1024 * 1024);
});

test('the diffs show invisible characters', () => {
  expect(textDiff('a\r', 'a')).toContain('a\\r');
  expect(hexDiff(Buffer.from('ab'), Buffer.from('a'))).toContain('expected 0x62, got the end of the data');
});
