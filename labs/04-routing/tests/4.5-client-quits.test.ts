// Phase 4.5: clients leave. A client's quit spreads to every server and every client, once, and
// everyone forgets the id: a chat to it gets "Unknown ID". A client that vanishes without a quit
// (a reset, or a close in the middle of a message) is treated as if it had quit.
import { phase } from '../../../grader/harness/index.js';
import lab from '../lab.js';
import type { GraderClient } from './peers.js';
import { course, courseClients, star4, two } from './topologies.js';
import type { Mode } from './wire.js';
import { World, type StudentServer } from './world.js';

const test = phase(lab, '4.5');

test("a client's quit reaches every machine once", { points: 3 }, async (h) => {
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

test('a chat to a client that has quit gets "Unknown ID"; its id is free again', { points: 3 }, async (h) => {
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

test('a client that vanishes without a quit is treated as one', { points: 3 }, async (h) => {
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

test("the course's scenario: clients chat and quit while its eleven servers join", { points: 3 }, async (h) => {
  // The course's test 6_3 (ClientQuit_ElevenServers), step by step, with all eleven servers yours.
  const world = new World(h);
  const servers = new Map<number, StudentServer>();
  const clients = new Map<number, GraderClient>();
  const start = async (id: number) => {
    const spec = course.servers.find((s) => s.id === id)!;
    servers.set(id, await world.startServer(spec, spec.parent === undefined ? undefined : servers.get(spec.parent)));
  };
  const join = async (id: number, server: number, mode: Mode = 'whole') => {
    const name = courseClients.find((c) => c.id === id)!.name;
    clients.set(id, await world.client(id, servers.get(server)!, { name, mode }));
  };
  await start(1);
  await start(2);
  await join(101, 1);
  await start(3);
  await join(102, 1, 'bytes');
  await join(103, 2);
  await join(104, 3, 'coalesced');
  await start(4);
  await start(5);
  await world.settle('five servers and four clients to learn of each other');
  clients.get(104)!.chat(102, 'Sam, how is the garden doing?');
  await world.settle("bilbobaggins's chat to reach samgamgee");
  await clients.get(102)!.quit('Stepping out to get a bite to eat');
  await world.settle("samgamgee's quit to reach everyone");
  clients.get(101)!.chat(102, 'Pick me up some lembas bread, will you?');
  await start(6);
  await start(7);
  await join(105, 7);
  await start(8);
  await join(106, 6, 'bytes');
  await start(9);
  await start(10);
  await start(11);
  await join(107, 5);
  await join(108, 11, 'coalesced');
  await world.settle('all eleven servers and seven clients to learn of each other');
  clients.get(105)!.chat(108, 'Quit looking at me, its creepy');
  await world.settle("peregrin's chat to reach sauron");
  await clients.get(108)!.quit('Tower collapsing, brb');
  await world.settle("sauron's quit to reach everyone");
  clients.get(101)!.chat(108, 'I dont think you are going to get that ring back...');
  await world.finish('"Unknown ID 108" for frodobaggins, and nothing else');
});
