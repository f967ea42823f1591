// Phase 4.5: clients leave. A client's quit spreads to every server and every client, once, and
// everyone forgets the id: a chat to it gets "Unknown ID". A client that vanishes without a quit
// (a reset, or a close in the middle of a message) is treated as if it had quit.
import { phase } from '../../../grader/harness/index.js';
import lab from '../lab.js';
import { star4, two } from './topologies.js';
import { World } from './world.js';

const test = phase(lab, '4.5');

test("a client's quit reaches every machine once", { points: 6 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(star4);
  const [hub, north, east, west] = [1, 2, 3, 4].map((id) => servers.get(id)!);
  const graders = await world.observers([north!, east!, west!], 202, ['whole', 'bytes', 'coalesced']);
  const leaving = await world.client(101, north!, { mode: 'coalesced' });
  await world.client(102, east!);
  await world.client(103, west!, { mode: 'bytes' });
  await world.client(104, hub!);
  graders[0]!.announce([{ id: 3001, kind: 'client' }]);
  await world.settle('the network and its clients to form');
  await leaving.quit('going home ✓');
  await world.settle('the quit of client 101 to reach every server and client, text unchanged');
  graders[0]!.quitBehind(3001, 'left from behind a grader server');
  await world.finish('the quit of client 3001 to reach everyone');
});

test('a chat to a client that has quit gets "Unknown ID"; its id is free again', { points: 4 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(two);
  const [s1, s2] = [servers.get(1)!, servers.get(2)!];
  const a = await world.client(101, s1);
  const b = await world.client(102, s2, { mode: 'bytes' });
  await world.settle('both clients to join');
  await b.quit('bye');
  await world.settle('client 102 to quit');
  a.chat(102, 'are you still there?');
  await world.settle('"Unknown ID 102" for a chat to a client that quit');
  const again = await world.client(102, s1, { name: 'returning', mode: 'coalesced' });
  await world.settle('a new client with the id 102 to join');
  a.chat(102, 'welcome back');
  again.chat(101, 'thanks');
  await world.finish('chat with the new client 102');
});

test('a client that vanishes without a quit is treated as one', { points: 5 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(two);
  const [s1, s2] = [servers.get(1)!, servers.get(2)!];
  await world.observers([s1, s2], 201);
  const reset = await world.client(101, s1);
  const halfway = await world.client(102, s1, { mode: 'bytes' });
  const c = await world.client(103, s2);
  await world.settle('the clients to join');
  await reset.vanish('reset');
  await world.settle('everyone to be told client 101 is gone after its connection was reset');
  await halfway.vanish('halfMessage');
  await world.settle('everyone to be told client 102 is gone after it closed in the middle of a message');
  c.chat(101, 'gone?');
  c.chat(102, 'gone too?');
  await world.finish('"Unknown ID" for both, from a server that is still up');
});
