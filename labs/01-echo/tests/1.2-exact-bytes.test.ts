import { randomBytes } from 'node:crypto';
import lab from '../lab.js';
import { phase } from '../../../grader/harness/index.js';
import { playSchedules } from './streams.js';

const test = phase(lab, '1.2');

test('every byte value comes back unchanged', { points: 6 }, async (h) => {
  const server = await h.start();
  const client = await h.connect(server);
  // All 256 byte values, newlines and NULs included, four times over: echo is not about text.
  const payload = Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256));
  client.send(payload);
  await client.expectBytes(payload, { what: 'the 1024 bytes 0x00..0xff (x4) sent' });
  // Nothing else: no newline, prompt or other byte of the server's own (spec section 2, item 2).
  client.end();
  await client.expectClosed({ what: 'the close after the echo, with no byte the client did not send' });
});

test('a 1 MiB payload comes back unchanged', { points: 6 }, async (h) => {
  const server = await h.start();
  const client = await h.connect(server);
  const payload = randomBytes(1024 * 1024);
  client.send(payload);
  await client.expectBytes(payload, { what: 'all 1 MiB sent, in order', timeoutMs: 15_000 });
});

test('UTF-8 characters split across writes come back whole', { points: 6 }, async (h) => {
  const server = await h.start();
  const client = await h.connect(server);
  // Each character below takes 2 to 4 bytes; sent one byte per write, each is cut apart.
  const text = Buffer.from('héllo wörld — ✓ 𝄞 🚀\n', 'utf8');
  await client.sendInPieces(text, 1);
  await client.expectBytes(text, { what: 'the UTF-8 line sent one byte at a time' });
});

// Seeded schedules of writes, reading paused, slow and fast, half-closes and resets, four clients
// at once (streams.ts): every byte back once, in order, then the close (section 2, items 1, 4, 6).
test('random writes, pauses and half-closes: every byte once, in order, then the close', { points: 7 }, async (h) => {
  await playSchedules(h, ['backs up twice, read slowly then fast', 'half-closes while backed up', 'small writes, then a half-close', 'resets']);
});
