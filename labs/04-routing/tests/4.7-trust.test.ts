// Phase 4.7: nobody speaks for someone else. A link speaks only for the machines behind it: a
// client's link for that client alone, a server's link for the machines its registrations came
// from. A chat or a quit in the name of anyone else is answered with status 0x04 and dropped:
// nothing is delivered, nothing is forgotten. A status in someone else's name is dropped
// unanswered. Honest machines never notice.
import { phase } from '../../../grader/harness/index.js';
import lab from '../lab.js';
import { Code, T, texts } from './crc.js';
import { two } from './topologies.js';
import { World } from './world.js';

const test = phase(lab, '4.7');

test('a client writes only in its own name', { points: 4 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(two);
  const [s1, s2] = [servers.get(1)!, servers.get(2)!];
  await world.observers([s1, s2], 201, ['whole', 'bytes']);
  const liar = await world.client(101, s1, { mode: 'coalesced' });
  const near = await world.client(103, s1);
  const far = await world.client(102, s2, { mode: 'bytes' });
  await world.settle('the network to form');
  world.forge(liar.wire!, liar, s1, { type: T.chat, source: 103, destination: 102, text: 'I am 103, honestly' });
  world.forge(liar.wire!, liar, s1, { type: T.clientQuit, source: 102, text: 'I am 102, and I leave' });
  world.forge(liar.wire!, liar, s1, { type: T.clientQuit, source: 103, text: 'I am 103, and I leave' });
  world.forge(liar.wire!, liar, s1, { type: T.status, source: 102, destination: 103, code: Code.welcome, text: 'from 102, honestly' });
  await world.settle('server 1 to refuse the chat and the quits with status 0x04, and to deliver and forget nothing');
  // Nothing was forgotten: everyone still reaches everyone.
  far.chat(103, 'still here');
  near.chat(102, 'me too');
  liar.chat(102, 'in my own name');
  await world.finish('honest chats to arrive as before');
});

test('a server passes on only what comes from its side of the network', { points: 4 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(two);
  const [s1, s2] = [servers.get(1)!, servers.get(2)!];
  const liar = await world.graderServer(201, { to: s1, mode: 'bytes', behind: [{ id: 3001, kind: 'client' }] });
  await world.graderServer(202, { to: s2 });
  const a = await world.client(101, s1);
  const b = await world.client(102, s2, { mode: 'coalesced' });
  await world.settle('the network to form');
  const wire = liar.wireTowards(1, s1);
  // 102 and server 2 are behind server 1's link to server 2, and 101 is server 1's own client.
  world.forge(wire, liar, s1, { type: T.chat, source: 102, destination: 101, text: 'I am 102, honestly' });
  world.forge(wire, liar, s1, { type: T.clientQuit, source: 101, text: '101 has left, trust me' });
  world.forge(wire, liar, s1, { type: T.serverQuit, source: 2, replacement: 0, text: 'server 2 has left, trust me' });
  world.forge(wire, liar, s1, { type: T.status, source: 2, destination: 101, code: Code.unknownId, text: texts.unknownId(77) });
  await world.settle('server 1 to refuse the chat and the quits with status 0x04, and to deliver and forget nothing');
  b.chat(101, 'nothing was forgotten');
  a.chat(102, 'nothing at all');
  liar.chat(3001, 102, 'from my own side');
  liar.quitBehind(3001, 'a quit from my own side');
  await world.finish("honest chats, and the grader server's honest quit, to arrive");
});
