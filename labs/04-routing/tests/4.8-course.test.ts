// Phase 4.8: your server among the course's own servers. The grader plays the course's servers
// as the course's reference implementation behaves (spec section 10): a server's answer to a
// new neighbour starts with its own registration carrying its own id as last hop, and a taken id
// is refused with status 0x02 while the link stays open. The course's own test scenarios run
// with your server in the course's tree and every other server a course server: your server is
// the child of one and the parent of others, and later the first server of the network.
import { phase } from '../../../grader/harness/index.js';
import lab from '../lab.js';
import type { VirtualSpec } from './peers.js';
import { World } from './world.js';

const test = phase(lab, '4.8');

const client = (id: number, name: string): VirtualSpec => ({ id, kind: 'client', name, info: 'Test info' });
const server = (id: number, name: string, info: string): VirtualSpec => ({ id, kind: 'server', name, info });

test("your server as rivendale: the child of the course's theshire, the parent of three course servers", { points: 5 }, async (h) => {
  const world = new World(h);
  const theshire = await world.graderServer(1, { listen: true, style: 'course', name: 'theshire', info: 'Home of the Hobbits' });
  const rivendale = await world.startServer({ id: 2, name: 'rivendale', info: 'Elronds House' }, theshire);
  theshire.announce([client(101, 'frodobaggins')]);
  theshire.announce([server(3, 'grey_havens', 'Gates to the Blessed Realm')]);
  theshire.announce([client(102, 'samgamgee'), client(104, 'bilbobaggins')]);
  const elrond = await world.client(103, rivendale, { name: 'elrond', mode: 'bytes' });
  const lothlorien = await world.graderServer(4, { to: rivendale, style: 'course', mode: 'coalesced', name: 'lothlorien', info: 'The Golden Wood' });
  const moria = await world.graderServer(5, { to: rivendale, style: 'course', name: 'moria', info: 'The Black Pit' });
  await world.settle('the first five servers and four clients to learn of each other');
  theshire.chat(104, 103, 'Elrond, is the council still on?');
  await world.settle("bilbobaggins's chat to reach elrond");
  theshire.quitBehind(102, 'Stepping out to get a bite to eat');
  await world.settle("samgamgee's quit to reach everyone");
  elrond.chat(102, 'Pick me up some lembas bread, will you?');
  lothlorien.announce([server(6, 'edoras', 'Home of the Golden Hall of Meduseld'), server(7, 'minastirith', 'Tower of Guard')]);
  lothlorien.announce([client(105, 'peregrin')]);
  await world.graderServer(8, { to: rivendale, style: 'course', name: 'mirkwood', info: 'Wood of Greenleaves' });
  lothlorien.announce([client(106, 'meriadoc')]);
  lothlorien.announce([server(9, 'isengard', 'Angrenost, The Iron Fortres'), server(10, 'osgiliath', 'Citadel of the Stars'), server(11, 'barad-dur', 'The Dark Tower')]);
  moria.announce([client(107, 'balin')]);
  lothlorien.announce([client(108, 'sauron')]);
  await world.settle('all eleven servers and seven clients to learn of each other');
  theshire.chat(101, 108, 'Three hops and more, through rivendale');
  lothlorien.chat(105, 107, 'Balin, are you down there?');
  moria.chat(107, 103, 'Greetings from the deep');
  await world.settle('the chats to cross rivendale once each');
  lothlorien.quitBehind(108, 'Tower collapsing, brb');
  await world.settle("sauron's quit to reach everyone");
  theshire.chat(101, 108, 'I dont think you are going to get that ring back...', rivendale);
  // The course's duplicate-id scenarios, against your server.
  await world.graderServer(5, { to: rivendale, refused: true, style: 'course', name: 'moria-again' });
  await world.client(104, rivendale, { refused: true, name: 'gollum' });
  await world.finish('"Unknown ID 108" back to frodobaggins, and the taken ids refused with the course\'s texts');
});

test("your server as theshire, the first of the network, with the course's servers joining it", { points: 3 }, async (h) => {
  const world = new World(h);
  const theshire = await world.startServer({ id: 1, name: 'theshire', info: 'Home of the Hobbits' });
  const rivendale = await world.graderServer(2, { to: theshire, style: 'course', name: 'rivendale', info: 'Elronds House' });
  const frodo = await world.client(101, theshire, { name: 'frodobaggins' });
  const greyHavens = await world.graderServer(3, { to: theshire, style: 'course', mode: 'bytes', name: 'grey_havens', info: 'Gates to the Blessed Realm' });
  const sam = await world.client(102, theshire, { name: 'samgamgee', mode: 'coalesced' });
  rivendale.announce([client(103, 'elrond')]);
  greyHavens.announce([client(104, 'bilbobaggins')]);
  rivendale.announce([server(4, 'lothlorien', 'The Golden Wood'), server(5, 'moria', 'The Black Pit'), server(8, 'mirkwood', 'Wood of Greenleaves')]);
  rivendale.announce([client(105, 'peregrin'), client(107, 'balin'), client(108, 'sauron')]);
  await world.settle('the network to form');
  greyHavens.chat(104, 102, 'Sam, how is the garden doing?');
  await world.settle("bilbobaggins's chat to reach samgamgee");
  await sam.quit('Stepping out to get a bite to eat');
  await world.settle("samgamgee's quit to reach everyone");
  frodo.chat(102, 'Pick me up some lembas bread, will you?');
  frodo.chat(108, 'I dont think you are going to get that ring back...');
  rivendale.chat(105, 104, 'Across theshire to the Grey Havens');
  await world.finish('"Unknown ID 102", and the chats to cross theshire once each');
});
