// The trace a test records (grader/harness/trace.ts) and the page that draws it
// (grader/trace/): Lamport stamps, both times of a proxied message, faults and losses, the cap
// on what is kept, the waits and the one that failed, the labs' decoders, and a page that no
// message can break out of. The page itself is checked in a browser by trace-browser.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, expect, test } from 'vitest';
import { Harness } from '../harness/index.js';
import { Trace, chunkDecoder, limits, type DecoderFactory } from '../harness/trace.js';
import { renderHtml } from '../trace/render.js';
import type { LabSpec } from '../lab.js';
import lab2 from '../../labs/02-chat/tests/trace.js';
import lab3 from '../../labs/03-protocol/tests/trace.js';
import lab4 from '../../labs/04-routing/tests/trace.js';
import lab5 from '../../labs/05-persistence/tests/trace.js';
import lab6 from '../../labs/06-replication/tests/trace.js';
import { map, message } from '../../labs/03-protocol/tests/wire.js';
import { encode, T } from '../../labs/04-routing/tests/crc.js';
import { kitArgs, root } from './support.js';

type Line = Record<string, unknown> & { kind?: string };

const parse = (jsonl: string): Line[] => jsonl.trim().split('\n').map((line) => JSON.parse(line) as Line);
const messagesOf = (lines: Line[]) => lines.filter((l) => l.kind === 'msg');

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

test('Lamport stamps: a send ticks the sender, a receipt takes the larger clock plus one; the grader lanes share one clock', () => {
  const trace = new Trace('lamport');
  const server = trace.lane('server', 'program');
  const ann = trace.link(trace.lane('ann', 'grader'), server);
  const bob = trace.link(trace.lane('bob', 'grader'), server);
  ann.sent('hello\n');
  ann.received(Buffer.from('one\n'));
  ann.received(Buffer.from('two\n'));
  bob.sent('after\n');
  const [hello, one, two, after] = messagesOf(parse(trace.toJsonLines('passed')));
  // ann's send: the grader's clock 1, the server's receipt max(0, 1) + 1.
  expect([hello!.ls, hello!.lr, hello!.known]).toEqual([1, 2, 'send']);
  expect([one!.ls, one!.lr, one!.known]).toEqual([3, 4, 'receive']);
  expect([two!.ls, two!.lr]).toEqual([4, 5]);
  // bob is the grader too: its send comes after everything ann saw.
  expect(after!.ls).toBe(6);
  // The grader knows one end of each: both ends carry that time.
  expect(hello!.sent).toBe(hello!.recv);
});

test('the first messages are decoded, the last kept as chunks, and those in between are counted', () => {
  const trace = new Trace('many');
  trace.decoders = lab2;
  const link = trace.link(trace.lane('client', 'grader'), trace.lane('server', 'program'));
  const chunks = limits.messages + 10_000;
  for (let i = 0; i < chunks; i++) link.received(Buffer.from(`u${i}: hi\n`));
  const lines = parse(trace.toJsonLines('passed'));
  const messages = messagesOf(lines);
  const half = limits.messages / 2;
  expect(messages).toHaveLength(limits.messages);
  expect(messages[0]!.type).toBe('chat');
  expect(messages[half - 1]!.text).toBe(JSON.stringify(`u${half - 1}: hi`));
  expect(messages[half]!.type).toBe('chunk');
  // The last chunk is the last one that came.
  expect(messages.at(-1)!.text).toBe(JSON.stringify(`u${chunks - 1}: hi\n`));
  expect((lines[0]!.dropped as Record<string, number>).chunks).toBe(10_000);
  const gaps = lines.filter((l) => l.kind === 'gap').map((l) => String(l.text));
  expect(gaps).toHaveLength(2);
  expect(gaps[0]).toMatch(/not decoded/);
  expect(gaps[1]).toMatch(/^10,000 chunks happened here and were not kept/);
});

test('a wait that failed the test is marked, and a half line still waiting is shown', () => {
  const trace = new Trace('waits');
  trace.decoders = lab2;
  const ann = trace.link(trace.lane('ann', 'grader'), trace.lane('server', 'program'));
  ann.expect('the greeting').done();
  const failing = ann.expect('the welcome');
  ann.received(Buffer.from('* welc'));
  failing.done(new Error('ann waited for the welcome and got only "* welc" with no newline'));
  trace.failed('ann waited for the welcome and got only "* welc" with no newline');
  const lines = parse(trace.toJsonLines('failed'));
  const waits = lines.filter((l) => l.kind === 'expect');
  expect(waits.map((w) => [w.what, w.ok, w.failing])).toEqual([
    ['the greeting', true, undefined],
    ['the welcome', false, true],
  ]);
  const failure = lines.find((l) => l.kind === 'failure')!;
  expect(failure.lane).toBe(waits[1]!.lane);
  const partial = messagesOf(lines).find((m) => m.partial)!;
  expect(partial.type).toBe('incomplete');
  expect(partial.text).toContain('"* welc"');
});

test('a proxy gives both times of a message, its faults, and what it lost', async () => {
  const sockets: net.Socket[] = [];
  const echo = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => echo.close(resolve));
  });
  const lab = { number: 9, dir: '09-none', title: 'none', mainProgram: 'server', programs: {}, phases: [] } as LabSpec;
  const h = new Harness(lab, { id: '9.1', name: 'none', points: 1, timeoutMs: 10_000, spec: 'spec' }, '9.1 a proxied echo');
  cleanups.push(() => h.teardown(true));
  h.trace.decoders = lab2;
  const proxy = await h.proxy((echo.address() as net.AddressInfo).port, { from: 'sender', to: 'echo' });
  const socket = net.connect(proxy.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  cleanups.push(() => void socket.destroy());
  const received: string[] = [];
  socket.on('data', (chunk) => received.push(String(chunk)));
  const until = async (text: string) => {
    for (let i = 0; i < 200 && !received.join('').includes(text); i++) await delay(10);
  };
  proxy.delay(120);
  socket.write('slow\n');
  await until('slow');
  proxy.delay(0);
  proxy.blackhole();
  socket.write('lost\n');
  await delay(50);
  proxy.hold();
  socket.write('held\n');
  await delay(50);
  const lines = parse(h.trace.toJsonLines('passed'));
  const lanes = new Map(lines.filter((l) => l.kind === 'lane').map((l) => [l.id, l.name]));
  const messages: Line[] = messagesOf(lines).map((m) => ({ ...m, from: lanes.get(m.from), to: lanes.get(m.to) }));
  const [slow, back, lost, held] = messages;
  expect([slow!.from, slow!.to, slow!.known, slow!.text]).toEqual(['sender', 'echo', 'both', '"slow"']);
  expect(Number(slow!.recv) - Number(slow!.sent)).toBeGreaterThanOrEqual(100);
  expect(Number(slow!.lr)).toBeGreaterThan(Number(slow!.ls));
  expect([back!.from, back!.to]).toEqual(['echo', 'sender']);
  expect([lost!.text, lost!.lost, lost!.recv]).toEqual(['"lost"', 'blackhole', undefined]);
  // Held when the trace was written: sent, never received, not lost.
  expect([held!.text, held!.lost, held!.recv]).toEqual(['"held"', undefined, undefined]);
  const faults = lines.filter((l) => l.kind === 'fault').map((l) => l.what);
  expect(faults).toEqual(['delay', 'delay', 'blackhole', 'hold']);
  expect(lines.filter((l) => l.kind === 'fault').every((l) => lanes.get(l.from) === 'sender' && lanes.get(l.to) === 'echo')).toBe(true);
});

/** Feeds `bytes` to a fresh decoder one byte at a time, and returns what came out. */
function byteByByte(factory: DecoderFactory, bytes: Buffer) {
  const decoder = factory({ from: 'a', to: 'b' });
  const out = [];
  for (let i = 0; i < bytes.length; i++) out.push(...decoder.push(bytes.subarray(i, i + 1)));
  return { out, pending: decoder.pending?.() ?? Buffer.alloc(0) };
}

test('lab 2 decodes lines, whatever the pieces, and names them by what they are', () => {
  const { out, pending } = byteByByte(lab2, Buffer.from('* welcome ann\nbob: hi\r\nERR name-taken sorry\n/msg bob x\n* users: ann bob\nhalf'));
  expect(out.map((d) => d.type)).toEqual(['welcome', 'chat', 'ERR name-taken', 'command /msg', 'users']);
  expect(out[1]!.text).toBe('"bob: hi"');
  expect(out[1]!.raw.toString()).toBe('bob: hi\r\n');
  expect(pending.toString()).toBe('half');
});

test('lab 3 (and lab 5) decode frames in either encoding, and a frame too large ends the stream', () => {
  const bytes = Buffer.concat([message(3, map({ name: 'ann', password: 'pw' })), message(101, map(), 'json'), message(6, map({ to: 'bob', text: 'hi' })).subarray(0, 20)]);
  for (const factory of [lab3, lab5]) {
    const { out, pending } = byteByByte(factory, bytes);
    expect(out.map((d) => d.type)).toEqual(['LOGIN', 'PONG']);
    expect(out[0]!.text).toBe('LOGIN {name: "ann", password: "pw"}');
    expect(out[1]!.text).toBe('PONG {}');
    expect(pending.length).toBe(20);
  }
  const huge = Buffer.alloc(12);
  huge.writeUInt32BE(0xffffffff, 8);
  const decoder = lab3({ from: 'a', to: 'b' });
  expect(decoder.push(huge).map((d) => d.type)).toEqual(['frame too large']);
  expect(decoder.push(Buffer.from('more')).map((d) => d.type)).toEqual(['unreadable']);
});

test('lab 4 decodes relay-chat messages, and a stream that stops making sense is shown chunk by chunk', () => {
  const chat = encode({ type: T.chat, source: 101, destination: 102, text: 'hello' });
  const { out, pending } = byteByByte(lab4, Buffer.concat([encode({ type: T.serverRegistration, source: 1, lastHop: 0, name: 'one', info: 'i' }), chat, chat.subarray(0, 5)]));
  expect(out.map((d) => d.type)).toEqual(['server registration', 'chat']);
  expect(out[1]!.text).toBe('chat from 101 to 102 "hello"');
  expect(pending.equals(chat.subarray(0, 5))).toBe(true);
  const decoder = lab4({ from: 'a', to: 'b' });
  expect(decoder.push(Buffer.from([0x7f, 1, 2])).map((d) => d.type)).toEqual(['unreadable']);
  expect(decoder.push(Buffer.from([3])).map((d) => d.text)).toEqual(['1 more bytes of a stream that no longer makes sense']);
});

test('lab 6 decodes replica messages by their names', () => {
  const { out } = byteByByte(lab6, Buffer.concat([message(200, map({ from: 3n })), message(7, map())]));
  expect(out.map((d) => d.type)).toEqual(['HEARTBEAT', 'READ']);
  expect(out[0]!.raw.length).toBe(message(200, map({ from: 3n })).length);
});

test('a decoder that throws gives its stream up to one message per chunk, and the test goes on', () => {
  const trace = new Trace('broken decoder');
  trace.decoders = () => ({
    push: () => {
      throw new Error('nope');
    },
  });
  const link = trace.link('grader', trace.lane('server', 'program'));
  link.received(Buffer.from('one'));
  link.received(Buffer.from('two'));
  const messages = messagesOf(parse(trace.toJsonLines('passed')));
  expect(messages.map((m) => m.type)).toEqual(['unreadable', 'bytes']);
  expect(String(messages[0]!.text)).toContain('nope');
  expect(chunkDecoder().push(Buffer.from([0, 1, 2]))[0]!.text).toBe('3 bytes: 00 01 02');
});

test('the page holds whatever a program sent as data: no text can end its script', () => {
  const trace = new Trace('</script><script>alert(1)</script>');
  const link = trace.link('grader', trace.lane('server', 'program'));
  link.received(Buffer.from('</script><img src=x onerror=alert(2)>\n'));
  const html = renderHtml(trace.toJsonLines('passed'));
  expect(html).not.toContain('<script>alert');
  expect(html).not.toContain('<img src=x');
  expect(html.match(/<\/script>/g)).toHaveLength(2);
  expect(html).toContain("default-src 'none'");
});

test('npm run trace renders a trace file again, and refuses a file that is not one', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-trace-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const trace = new Trace('again');
  trace.link('grader', trace.lane('server', 'program')).sent('hi\n');
  const file = path.join(dir, 'trace.jsonl');
  writeFileSync(file, trace.toJsonLines('passed'));
  const cli = (args: string[]) => execFileSync(process.execPath, [...kitArgs(path.join(root, 'grader', 'trace', 'cli.ts')), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, INIT_CWD: dir } });
  cli(['trace.jsonl', '--out', 'page.html']);
  expect(readFileSync(path.join(dir, 'page.html'), 'utf8')).toContain('"test":"again"');
  writeFileSync(path.join(dir, 'other.jsonl'), '{"not":"a trace"}\n');
  let failure: { status?: number; stderr?: string } = {};
  try {
    cli(['other.jsonl']);
  } catch (error) {
    failure = error as typeof failure;
  }
  expect(failure.status).toBe(2);
  expect(failure.stderr).toMatch(/is not a trace/);
});
