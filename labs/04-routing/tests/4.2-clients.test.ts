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

test("the course's eleven servers and eight clients: every registration reaches everyone, once", { points: 4 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(course);
  // Grader servers on the leaves watch what crosses the whole tree.
  const leaves = [3, 5, 8, 9, 10, 11].map((id) => servers.get(id)!);
  await world.observers(leaves, 201, ['whole', 'ragged', 'bytes']);
  for (const [i, c] of courseClients.entries()) {
    await world.client(c.id, servers.get(c.server)!, { name: c.name, mode: (['whole', 'coalesced', 'bytes', 'ragged'] as const)[i % 4] });
  }
  await world.finish('every client to learn of every other, and every grader server of every client');
});

test('many registrations in one write, registrations cut into single bytes, and writes cut anywhere', { points: 3 }, async (h) => {
  const world = new World(h);
  const [first, second] = two.servers;
  const s1 = await world.startServer(first!);
  // An info over 255 bytes: its length takes both bytes of its field (spec section 3.3).
  const s2 = await world.startServer({ ...second!, info: `wide ${'ï'.repeat(h.random.int(130, 1_500))}` }, s1);
  const grader = await world.graderServer(201, { to: s1, mode: 'coalesced' });
  // Its writes cut at random places: a read may end one message, hold others whole and start the
  // next, with its header cut anywhere (spec section 3.1).
  const ragged = await world.graderServer(202, { to: s2, mode: 'ragged' });
  await world.client(101, s2, { mode: 'bytes' });
  await world.settle('client 101 to join');
  // Six clients announced in one write: your server must read them all out of one chunk.
  grader.announce([3001, 3002, 3003, 3004, 3005, 3006].map((id) => ({ id, kind: 'client' as const, name: `batch-${id}`, info: `ünïcödé info ✓ ${id}` })));
  await world.client(102, s2, { mode: 'bytes', name: 'élodie-✓' });
  await world.settle('the six clients of one write, and a client registered one byte at a time, to reach everyone');
  // Twenty machines in one step, their bytes cut at random; names and infos of every size their
  // length fields allow, up to 255 and 65535 bytes (spec section 3.3).
  const infos = () => h.random.shuffle([
    'x'.repeat(h.random.int(0, 40)),
    'y'.repeat(h.random.int(256, 3_000)),
    'ü'.repeat(h.random.int(128, 20_000)),
    'é'.repeat(32_767) + 'z',
    'w'.repeat(65_535),
  ]);
  for (let batch = 0; batch < 4; batch++) {
    const wide = infos();
    ragged.announce(Array.from({ length: 5 }, (_, i) => {
      const id = 4000 + batch * 5 + i;
      const name = i === 4 ? `cut-${id}-`.padEnd(255, 'n') : `cut-${id}${'✓'.repeat(i)}`;
      return { id, kind: i % 2 === 0 ? ('client' as const) : ('server' as const), name, info: wide[i]! };
    }));
  }
  await world.client(103, s1, { mode: 'ragged', name: 'ragged-103' });
  await world.finish('the registrations of writes cut anywhere to reach everyone');
});

test('a server that accepts machines before its parent has answered tells its parent of them, once', { points: 1 }, async (h) => {
  // A server may listen before its parent's answer, as the course's servers do; then a client
  // and a server that join it meanwhile must still reach the parent and the rest of the network
  // (spec section 2.1). A server that listens only once it has joined is not put to this test:
  // they then join after the answer.
  const world = new World(h);
  const [first, second] = two.servers;
  const s1 = await world.startServer(first!);
  const parent = await world.graderServer(250, { to: s1, listen: true, mode: 'bytes', behind: [{ id: 3250, kind: 'client' }] });
  await world.client(101, s1);
  await world.settle('the network to form');
  const s2 = await world.startWithHeldAnswer(second!, parent, { client: 102, server: 202 });
  await world.settle('client 102 and server 202, which joined server 2 while its parent held back its answer, to reach everyone, once');
  await world.client(103, s2, { mode: 'coalesced' });
  await world.finish('a client that joins after the answer to reach everyone too');
});
