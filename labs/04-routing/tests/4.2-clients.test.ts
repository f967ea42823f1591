// Phase 4.2: clients join. A new client gets a welcome status first, then the registration of
// every client already on the network; its own registration then reaches every server and
// every other client, once. Clients are never told about servers.
import { phase } from '../../../grader/harness/index.js';
import lab from '../lab.js';
import { course, courseClients, two } from './topologies.js';
import { World } from './world.js';

const test = phase(lab, '4.2');

test('a new client gets its welcome first, then every client already on the network', { points: 4 }, async (h) => {
  const world = new World(h);
  const [first, second] = two.servers;
  const s1 = await world.startServer(first!);
  // Two clients the grader announces behind a server of its own, before any real client joins.
  await world.graderServer(201, { to: s1, mode: 'coalesced', behind: [{ id: 3001, kind: 'client' }, { id: 3002, kind: 'client' }] });
  const s2 = await world.startServer(second!, s1);
  await world.settle('the network to form');
  await world.client(101, s1, { mode: 'whole' });
  await world.settle('client 101 to be welcomed and told of clients 3001 and 3002');
  await world.client(102, s2, { mode: 'bytes' });
  await world.finish('client 102 to be welcomed and told of every client, and everyone told of it');
});

test("the course's eleven servers and eight clients: every registration reaches everyone, once", { points: 5 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(course);
  // Grader servers on the leaves watch what crosses the whole tree.
  const leaves = [3, 5, 8, 9, 10, 11].map((id) => servers.get(id)!);
  await world.observers(leaves, 201, ['whole', 'bytes']);
  for (const [i, c] of courseClients.entries()) {
    await world.client(c.id, servers.get(c.server)!, { name: c.name, mode: (['whole', 'coalesced', 'bytes'] as const)[i % 3] });
  }
  await world.finish('every client to learn of every other, and every grader server of every client');
});

test('many registrations in one write, and registrations cut into single bytes', { points: 3 }, async (h) => {
  const world = new World(h);
  const [first, second] = two.servers;
  const s1 = await world.startServer(first!);
  const s2 = await world.startServer(second!, s1);
  const grader = await world.graderServer(201, { to: s1, mode: 'coalesced' });
  await world.client(101, s2, { mode: 'bytes' });
  await world.settle('client 101 to join');
  // Six clients announced in one write: your server must read them all out of one chunk.
  grader.announce([3001, 3002, 3003, 3004, 3005, 3006].map((id) => ({ id, kind: 'client' as const, name: `batch-${id}`, info: `ünïcödé info ✓ ${id}` })));
  await world.client(102, s2, { mode: 'bytes', name: 'élodie-✓' });
  await world.finish('the six clients of one write, and a client registered one byte at a time, to reach everyone');
});
