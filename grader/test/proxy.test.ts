// The fault proxy between a client and an echo server: each fault does what it says.
import net from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { FaultProxy } from '../harness/proxy.js';
import { Conn } from '../harness/wire.js';

const cleanups: (() => Promise<unknown> | void)[] = [];

async function echoBehindProxy(): Promise<{ proxy: FaultProxy; connect: () => Promise<Conn>; server: net.Server }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy = new FaultProxy((server.address() as net.AddressInfo).port);
  await proxy.listen();
  cleanups.push(() => proxy.close(), () => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  const connect = async () => {
    const conn = await Conn.connect(proxy.port);
    cleanups.push(() => conn.destroy());
    return conn;
  };
  return { proxy, connect, server };
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

test('an open proxy passes bytes both ways, and the tap sees them', async () => {
  const { proxy, connect } = await echoBehindProxy();
  const seen: string[] = [];
  proxy.tap = (direction, chunk) => seen.push(`${direction}:${chunk}`);
  const conn = await connect();
  conn.send('ping\n');
  await conn.expectLine('ping');
  expect(seen).toEqual(['forward:ping\n', 'backward:ping\n']);
  expect(proxy.stats.connections).toBe(1);
});

test('delay holds every chunk back, in order', async () => {
  const { proxy, connect } = await echoBehindProxy();
  proxy.delay(150);
  const conn = await connect();
  const started = Date.now();
  conn.send('a\n');
  conn.send('b\n');
  await conn.expectLine('a');
  await conn.expectLine('b');
  // There and back: two delays.
  expect(Date.now() - started).toBeGreaterThanOrEqual(290);
});

test('hold keeps bytes until heal, then delivers them', async () => {
  const { proxy, connect } = await echoBehindProxy();
  const conn = await connect();
  proxy.hold();
  conn.send('held\n');
  await conn.expectSilence(200);
  proxy.heal();
  await conn.expectLine('held');
});

test('blackhole drops bytes silently and keeps the connection open', async () => {
  const { proxy, connect } = await echoBehindProxy();
  const conn = await connect();
  proxy.blackhole();
  conn.send('lost\n');
  await conn.expectSilence(200);
  expect(proxy.stats.droppedBytes).toBe(5);
  proxy.heal();
  conn.send('found\n');
  await conn.expectLine('found');
});

test('cut resets current connections, and new ones still work', async () => {
  const { proxy, connect } = await echoBehindProxy();
  const conn = await connect();
  conn.send('x\n');
  await conn.expectLine('x');
  proxy.cut();
  await conn.expectClosed();
  expect(conn.state()).toMatch(/reset|closed/);
  const again = await connect();
  again.send('y\n');
  await again.expectLine('y');
});

test('partition cuts and refuses until heal', async () => {
  const { proxy, connect } = await echoBehindProxy();
  const conn = await connect();
  proxy.partition();
  await conn.expectClosed();
  // The proxy accepts and resets at once: the connect fails, or the connection dies right after.
  const refused = await connect().catch((error: Error) => error);
  if (refused instanceof Conn) await refused.expectClosed({ what: 'the partitioned proxy to drop a new connection' });
  else expect(refused.message).toMatch(/ECONNRESET|could not connect/);
  proxy.heal();
  const healed = await connect();
  healed.send('z\n');
  await healed.expectLine('z');
});

test('a FIN travels through, after the data before it', async () => {
  const { proxy, connect } = await echoBehindProxy();
  proxy.delay(50);
  const conn = await connect();
  conn.send('bye\n');
  conn.end();
  await conn.expectLine('bye');
  await conn.expectClosed();
});

test('a one-way fault: only the direction named is held or dropped, the other flows', async () => {
  // Bytes sent forward reach the echo server; its echo comes back backward.
  const { proxy, connect } = await echoBehindProxy();
  const conn = await connect();
  proxy.hold('backward');
  conn.send('echoed but held\n');
  await conn.expectSilence(200);
  // The forward way still flows: the server got the line, only its echo waits.
  expect(proxy.stats.forwardBytes).toBe('echoed but held\n'.length);
  proxy.heal();
  await conn.expectLine('echoed but held');

  proxy.blackhole('forward');
  conn.send('never arrives\n');
  await conn.expectSilence(200);
  expect(proxy.stats.droppedBytes).toBe('never arrives\n'.length);
  proxy.heal();
  conn.send('after\n');
  await conn.expectLine('after');
});
