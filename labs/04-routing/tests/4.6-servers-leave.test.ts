// Phase 4.6: servers leave and links die. A server quit (0x02) spreads to every server, and the
// servers next to the one that left forget everything they reached through it, telling the rest
// with one quit per id. A server that dies, or a link that is cut, is the same without a word:
// each side of the broken link forgets the other side, network-wide.
import { phase } from '../../../grader/harness/index.js';
import lab from '../lab.js';
import { fork5, line4 } from './topologies.js';
import { World } from './world.js';

const test = phase(lab, '4.6');

test('a server quit is passed on, and what was behind that server is forgotten', { points: 4 }, async (h) => {
  const world = new World(h);
  const [one, two_, three] = line4.servers;
  const s1 = await world.startServer(one!);
  const s2 = await world.startServer(two_!, s1);
  const s3 = await world.startServer(three!, s2);
  await world.graderServer(201, { to: s1, mode: 'bytes' });
  await world.graderServer(203, { to: s3 });
  const c = await world.client(103, s3, { mode: 'coalesced' });
  const leaving = await world.graderServer(250, { to: s2, behind: [{ id: 3100, kind: 'server' }, { id: 3101, kind: 'client' }] });
  await world.settle('the network to form');
  await leaving.quit('closing time ✓');
  await world.settle('server quit 250 (text unchanged), and quits for server 3100 and client 3101, to reach everyone');
  c.chat(3101, 'hello?');
  await world.finish('"Unknown ID 3101" once client 3101 is forgotten');
});

test('a server that dies takes its side of the tree with it', { points: 3 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(fork5);
  const [west, junction, east, south, farSouth] = [1, 2, 3, 4, 5].map((id) => servers.get(id)!);
  await world.observers([west!, east!, farSouth!], 201, ['whole', 'bytes', 'coalesced']);
  const a = await world.client(101, west!);
  const b = await world.client(104, south!, { mode: 'bytes' });
  await world.client(102, junction!);
  await world.settle('the network to form');
  // Killed outright: its neighbours see the links close and must speak for everything behind them.
  await world.kill(junction!);
  await world.settle('each remaining part of the tree to forget the others');
  a.chat(104, 'across the dead server?');
  b.chat(101, 'hello?');
  await world.finish('"Unknown ID" across the dead server');
});

test('a cut link: each side forgets the other', { points: 3 }, async (h) => {
  const world = new World(h);
  const [one, two_, three] = line4.servers;
  const s1 = await world.startServer(one!);
  const s2 = await world.startServer(two_!, s1, { proxy: true });
  const s3 = await world.startServer(three!, s2);
  await world.graderServer(201, { to: s1 });
  await world.graderServer(203, { to: s3, mode: 'bytes' });
  const a = await world.client(101, s1);
  const b = await world.client(102, s2, { mode: 'coalesced' });
  await world.client(103, s3);
  await world.settle('the network to form');
  world.cut(s2);
  await world.settle('both sides of the cut link to forget each other');
  b.chat(103, 'still on this side');
  a.chat(103, 'across the cut?');
  await world.finish('chat on each side to go on, and "Unknown ID" across the cut');
});
