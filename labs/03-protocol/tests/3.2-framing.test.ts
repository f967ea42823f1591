import lab from '../lab.js';
import { phase } from '../../../grader/harness/index.js';
import { Peer, stillRunning } from './peer.js';
import { T, header, map, maxPayload, message, type Value } from './wire.js';

const test = phase(lab, '3.2');

test('frames sent one byte at a time', { points: 3 }, async (h) => {
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  // Every cut a network can make: inside the type, inside the length, inside every value.
  const values: Value[] = [map({ nested: ['héllo', 2n ** 40n, map({ a: 'b' })] }), 'second frame, 😀'];
  const bytes = Buffer.concat(values.map((value) => message(T.PING, map({ value }))));
  await peer.conn.sendInPieces(bytes, 1);
  for (const [i, value] of values.entries()) await peer.expectReply(T.PONG, map({ value }), `the PONG for frame ${i + 1} of 2, sent one byte per write`);
});

test('many frames in one write, and frames cut anywhere', { points: 3 }, async (h) => {
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  const pings = Array.from({ length: 100 }, (_, i) => message(T.PING, map({ value: [BigInt(i), `ping ${i}`] })));
  peer.sendRaw(Buffer.concat(pings), '100 PING frames in a single write');
  for (let i = 0; i < 100; i++) await peer.expectReply(T.PONG, map({ value: [BigInt(i), `ping ${i}`] }), `PONG ${i + 1} of 100, in order`);
  // 7-byte pieces: frame boundaries fall inside pieces, pieces end inside headers and payloads.
  const more = Array.from({ length: 20 }, (_, i) => message(T.PING, map({ value: 'y'.repeat(i * 3) })));
  await peer.conn.sendInPieces(Buffer.concat(more), 7);
  for (let i = 0; i < 20; i++) await peer.expectReply(T.PONG, map({ value: 'y'.repeat(i * 3) }), `PONG ${i + 1} of 20 frames sent in 7-byte pieces`);
});

test('a large frame arrives in many reads', { points: 2 }, async (h) => {
  const server = await h.start();
  const peer = await Peer.connect(h, server);
  // 600 KB: TCP delivers it in many pieces; the frame is whole only when the last one is in.
  const value = Buffer.alloc(600_000, 'abcdefghij').toString('latin1');
  peer.send(T.PING, map({ value }));
  await peer.expectReply(T.PONG, map({ value }), 'the PONG for a 600 KB string', { timeoutMs: 15_000 });
  await peer.ping('a small PING after the large one');
});

test('a frame over the maximum: an error, then the connection closes', { points: 2 }, async (h) => {
  const server = await h.start();
  for (const length of [maxPayload + 1, 0xffffffff]) {
    const peer = await Peer.connect(h, server, { name: `client announcing ${length} bytes` });
    peer.send(T.PING, map({ value: 'before' }));
    await peer.expectReply(T.PONG, map({ value: 'before' }), 'the PONG before the oversized frame');
    // Only the header is sent: the server must refuse at once, not wait for the payload.
    peer.sendRaw(header(T.PING, length), `a PING header announcing ${length} payload bytes (the maximum is ${maxPayload}), and no payload`);
    await peer.expectError('frame-too-large', `an ERROR "frame-too-large" for a header announcing ${length} bytes`);
    await peer.conn.expectClosed({ what: 'the server to close the connection after "frame-too-large"' });
  }
  const after = await Peer.connect(h, server, { name: 'client after' });
  await after.ping('a new connection is served after the server closed one for an oversized frame');
  stillRunning(server);
});
