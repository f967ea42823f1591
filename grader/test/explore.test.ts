// The explorer's parts (grader/explore): a named point acts before the proxy passes its frame
// on, and SWITCHBOARD_EXPLORE sets how many schedules a test runs.
import net from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { FaultProxy } from '../harness/proxy.js';
import { freePort } from '../harness/ports.js';
import { Points } from '../explore/points.js';
import { scheduleCount } from '../explore/explorer.js';
import { History } from '../replication/history.js';
import type { Cluster } from '../replication/cluster.js';
import { encodeValue, frame, map } from '../../labs/03-protocol/tests/wire.js';
import { T6 } from '../../labs/06-replication/tests/wire.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Replica 2's listener behind proxy 1→2, and the points on that one proxy. */
async function oneLink(): Promise<{ proxy: FaultProxy; points: Points; history: History; received: () => number }> {
  let bytes = 0;
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (chunk) => (bytes += chunk.length));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy = new FaultProxy((server.address() as net.AddressInfo).port);
  await proxy.listen();
  cleanups.push(() => proxy.close(), () => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  const history = new History();
  const cluster = { members: [{ id: 1, proxies: new Map([[2, proxy]]) }], history, checkAlive: () => undefined } as unknown as Pick<Cluster, 'members' | 'history' | 'checkAlive'>;
  return { proxy, points: new Points(cluster), history, received: () => bytes };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`waited 5 s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const appended = (index: bigint) => frame(T6.APPENDED, encodeValue(map({ from: 1n, index })));

test('a point acts on the frame it names before the proxy passes it on, and fires once', async () => {
  const { proxy, points, history, received } = await oneLink();
  let fired = 0;
  const point = points.on('replica 1 acknowledges record 5', (m) => m.from === 1 && m.to === 2 && m.type === T6.APPENDED && m.value.get('index') === 5n, () => {
    fired++;
    proxy.hold();
  });
  const socket = net.connect(proxy.port, '127.0.0.1');
  cleanups.push(() => void socket.destroy());
  await new Promise((resolve) => socket.once('connect', resolve));
  const four = appended(4n);
  socket.write(four);
  await until(() => received() === four.length, 'APPENDED {index: 4} to pass');
  expect(point.fired()).toBeUndefined();
  socket.write(appended(5n));
  const seen = await point.reached(5_000);
  expect(seen.value.get('index')).toBe(5n);
  // Held by the point's own action: it ran before the proxy could pass the frame on.
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(received()).toBe(four.length);
  proxy.heal();
  await until(() => received() === four.length * 2, 'APPENDED {index: 5} once the link healed');
  socket.write(appended(5n));
  await until(() => received() === four.length * 3, 'a second APPENDED {index: 5}');
  expect(fired).toBe(1);
  expect(history.events.some((e) => e.kind === 'note' && e.text.startsWith('point: replica 1 acknowledges record 5'))).toBe(true);
});

test('a point on a reconnect acts when the proxy accepts the connection', async () => {
  const { proxy, points } = await oneLink();
  let accepted = false;
  points.onAccept(1, 2, 'replica 1 connects to replica 2', () => (accepted = true));
  expect(accepted).toBe(false);
  const socket = net.connect(proxy.port, '127.0.0.1');
  cleanups.push(() => void socket.destroy());
  await until(() => accepted, 'the point on the accept');
});

test('a point on a reconnect is reached only once a connection gets through to the target, not when the proxy accepts one it must reset', async () => {
  // Replica 2 down: the proxy accepts replica 1's connection, then resets it.
  const port = await freePort();
  const proxy = new FaultProxy(port);
  await proxy.listen();
  cleanups.push(() => proxy.close());
  const history = new History();
  const cluster = { members: [{ id: 1, proxies: new Map([[2, proxy]]) }], history, checkAlive: () => undefined } as unknown as Pick<Cluster, 'members' | 'history' | 'checkAlive'>;
  const points = new Points(cluster);
  let acted = 0;
  const point = points.onAccept(1, 2, 'replica 1 connected to replica 2 again', () => acted++);
  let reached = false;
  void point.reached(10_000).then(() => (reached = true), () => undefined);
  const connectOnce = () =>
    new Promise<void>((resolve) => {
      const socket = net.connect(proxy.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('close', () => resolve());
      socket.on('connect', () => setTimeout(() => socket.destroy(), 200));
    });
  await connectOnce();
  expect(acted).toBe(1);
  expect(reached).toBe(false);
  // Replica 2 back: the next connection gets through.
  const server = net.createServer((socket) => socket.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  await connectOnce();
  await until(() => reached, 'the point once a connection reached replica 2');
  expect(acted).toBe(1);
});

test('SWITCHBOARD_EXPLORE sets the number of schedules, and a wrong one is refused', () => {
  const before = process.env.SWITCHBOARD_EXPLORE;
  try {
    delete process.env.SWITCHBOARD_EXPLORE;
    expect(scheduleCount(3)).toBe(3);
    process.env.SWITCHBOARD_EXPLORE = '12';
    expect(scheduleCount(3)).toBe(12);
    process.env.SWITCHBOARD_EXPLORE = '0';
    expect(() => scheduleCount(3)).toThrow(/whole number of schedules/);
  } finally {
    if (before === undefined) delete process.env.SWITCHBOARD_EXPLORE;
    else process.env.SWITCHBOARD_EXPLORE = before;
  }
});
