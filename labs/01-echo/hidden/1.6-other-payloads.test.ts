// The public tests send text lines, 1 KiB of every byte value and 1 MiB in one write. These send
// what they do not: 4 MiB with no newline at all, ended by the client at once, and a run of odd
// sizes (one zero byte, then sizes around 4 KiB and 64 KiB) on one connection, each echoed before
// the next is sent. A server that caps what it echoes per connection, or that waits for more
// bytes before it answers, passes the public phases and loses points here (spec section 2,
// items 1, 4 and 5).
import { phase } from '../../../grader/harness/index.js';
import lab from './lab.js';

const test = phase(lab, '1.6');

/** `size` bytes that never contain a newline, with a pattern that shows where a diff starts. */
function noNewlines(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) {
    const value = (i * 7 + seed) % 255;
    bytes[i] = value >= 0x0a ? value + 1 : value;
  }
  return bytes;
}

test('4 MiB without a newline, then the end: all of it comes back, then the close', { points: 5 }, async (h) => {
  const server = await h.start();
  const client = await h.connect(server);
  const payload = noNewlines(4 * 1024 * 1024, 3);
  client.send(payload);
  // Closing our side at once: the server must still send every byte it has queued (item 4).
  client.end();
  await client.expectBytes(payload, { what: 'all 4 MiB sent, in order, before the server closes', timeoutMs: 20_000 });
  await client.expectClosed({ what: 'the server to close its side once everything was echoed' });
});

test('payloads of odd sizes, one after another on one connection', { points: 5 }, async (h) => {
  const server = await h.start();
  const client = await h.connect(server);
  const sizes = [1, 2, 3, 255, 4095, 4096, 4097, 65_535, 65_536, 65_537, 300_001];
  for (const [n, size] of sizes.entries()) {
    // The first payload is a single zero byte: nothing but data, not even a printable character.
    const payload = n === 0 ? Buffer.alloc(1) : noNewlines(size, n);
    await client.sendInPieces(payload, 1_000, 0);
    await client.expectBytes(payload, { what: `the echo of payload ${n + 1} of ${sizes.length} (${size} bytes, no newline)`, timeoutMs: 10_000 });
  }
});
