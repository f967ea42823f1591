// Phase 4.9 (hidden): the public phases again, on a random tree of nine servers with random
// 32-bit ids, clients with random 32-bit ids, a quit and a dead server. The seed is printed; run
// again with SWITCHBOARD_SEED=<seed> to get the same network.
import { phase } from '../../../grader/harness/index.js';
import { random, randomTree, seed } from '../tests/topologies.js';
import { World, type StudentServer } from '../tests/world.js';
import lab from './lab.js';
import { expectClientDialsHost } from '../../../grader/harness/hosts.js';

const test = phase(lab, '4.9');

/** A random tree of your servers with wide ids, grader servers on its leaves, and five clients. */
async function network(world: World, seedValue: number) {
  const topology = randomTree(seedValue, 9, { ids: 'wide' });
  world.remember(`random tree with 32-bit ids from seed ${seedValue} (run again with SWITCHBOARD_SEED=${seedValue})`);
  const servers = await world.build(topology);
  const list = [...servers.values()];
  const leaves = list.filter((s) => !topology.servers.some((t) => t.parent === s.id));
  await world.observers(leaves, 0xfedcba00, ['whole', 'ragged', 'bytes', 'coalesced']);
  const next = random(seedValue + 7);
  const clients = [];
  for (let i = 0; i < 5; i++) {
    let id: number;
    do id = (i % 2 === 0 ? 0x90000000 : 0x10000000) + Math.floor(next() * 0x0fffffff);
    while (world.nodes.has(id));
    const server = list[Math.floor(next() * list.length)]!;
    clients.push(await world.client(id, server, { mode: (['whole', 'coalesced', 'ragged', 'bytes'] as const)[i % 4] }));
  }
  await world.settle(`the network of ${topology.name} to form`);
  return { topology, servers, list, clients, next };
}

test('registrations and chat with 32-bit ids', { points: 6 }, async (h) => {
  const world = new World(h);
  // Your servers find their parents on another loopback address (Linux answers on all of 127/8):
  // --connect_to_host is the parent's address, not a formality (spec section 2.1).
  if (process.platform === 'linux') world.parentHost = '127.0.0.2';
  const { clients } = await network(world, seed());
  for (const from of clients) for (const to of clients) if (from !== to) from.chat(to.id, `${from.id} -> ${to.id}`);
  await world.finish('all twenty chats to arrive, once each, and nowhere else');
});

test('a quit and a dead server with 32-bit ids', { points: 4 }, async (h) => {
  const world = new World(h);
  const { topology, servers, clients } = await network(world, seed());
  const [leaving, ...staying] = clients;
  await leaving!.quit('quitting from a wide id');
  await world.settle('the quit to reach everyone');
  // Kill a server with children, so that the tree falls apart.
  const inner = topology.servers.filter((s) => s.parent !== undefined && topology.servers.some((t) => t.parent === s.id));
  const victim: StudentServer | undefined = inner.length > 0 ? servers.get(inner[0]!.id) : undefined;
  if (victim) {
    await world.kill(victim);
    await world.settle('each part of the tree to forget the others');
  }
  for (const from of staying) for (const to of clients) if (from !== to && from.wire?.state === 'bound') from.chat(to.id, `after the losses: ${from.id} -> ${to.id}`);
  await world.finish('chats within each part to arrive, and "Unknown ID" across the parts');
});

// The client dials the host it is given (spec section 2.2), not 127.0.0.1 whatever it is told (grader/harness/hosts.ts).
test('the client connects to the host it is given, here another loopback address', { points: 1 }, async (h) => {
  await expectClientDialsHost(h, (fake) => ({ id: 0x9abcdef0, serverhost: fake.host, serverport: fake.port, username: 'alice', info: 'a client' }), '--serverhost');
});
