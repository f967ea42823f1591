// Phase 4.7: nobody speaks for someone else. A link speaks only for the machines behind it: a
// client's link for that client alone, a server's link for the machines its registrations came
// from. A chat or a quit in the name of anyone else is answered with status 0x04 and dropped:
// nothing is delivered, nothing is forgotten. A status in someone else's name is dropped
// unanswered, and so is a quit for an id nobody has or for a machine of the other kind. Honest
// machines never notice.
import { phase } from '../../../grader/harness/index.js';
import lab from '../lab.js';
import { Code, T, texts, type Msg } from './crc.js';
import { side, type Node } from './model.js';
import { two } from './topologies.js';
import type { Wire } from './wire.js';
import { World } from './world.js';

const test = phase(lab, '4.7');

test('a client writes only in its own name', { points: 3 }, async (h) => {
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

test('a server passes on only what comes from its side of the network', { points: 2 }, async (h) => {
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

test('every kind of message, in the name of every machine a link does not speak for', { points: 3 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(two);
  const [s1, s2] = [servers.get(1)!, servers.get(2)!];
  const west = await world.graderServer(201, { to: s1, mode: 'ragged', behind: [{ id: 3001, kind: 'client' }, { id: 3100, kind: 'server' }] });
  const east = await world.graderServer(202, { to: s2, behind: [{ id: 3002, kind: 'client' }, { id: 3200, kind: 'server' }] });
  const liar = await world.client(101, s1, { mode: 'ragged' });
  await world.client(103, s1);
  const far = await world.client(102, s2, { mode: 'bytes' });
  await world.settle('the network to form');
  // Two ids nobody has, from both halves of the 32-bit range.
  const unknown = [h.random.int(0x1000_0000, 0x7fff_ffff), h.random.int(0x8000_0000, 0xffff_ffff)];
  const links = [
    { wire: west.wireTowards(1, s1), from: west as Node },
    { wire: liar.wire!, from: liar as Node },
  ];
  const cases: { wire: Wire; from: Node; msg: Msg; silent?: { why: string } }[] = [];
  for (const { wire, from } of links) {
    // What this link speaks for: the machines server 1 reaches through it (spec section 6.5).
    const behind = side(from, s1);
    const clients = [...world.nodes.values()].filter((n) => n.kind === 'client' && !behind.has(n));
    for (const id of [...world.nodes.keys(), ...unknown]) {
      const node = world.nodes.get(id);
      const kind = node?.kind;
      const mine = node !== undefined && behind.has(node);
      const to = h.random.pick(clients.filter((c) => c.id !== id)).id;
      const text = `from ${from.label} in the name of ${id}`;
      const unknownOrOther = (as: string) => ({ why: `${id} is ${node ? `a ${kind}, not a ${as}` : 'an id nobody has'}: a quit for an id your server does not know, or for a machine of the other kind, is dropped without a status (spec sections 6.5 and 7)` });
      // A chat is taken only from a client behind the link: a server's id, or an unknown one, is refused too.
      if (!(mine && kind === 'client')) cases.push({ wire, from, msg: { type: T.chat, source: id, destination: to, text } });
      // A status not from the link's side is dropped, unanswered.
      if (!mine) cases.push({ wire, from, msg: { type: T.status, source: id, destination: to, code: Code.unknownId, text }, silent: { why: 'a status is dropped unless its source is behind the link it came in on' } });
      // A quit for this server itself is not one the spec rules on.
      if (id === s1.id) continue;
      if (kind === 'client' && !mine) cases.push({ wire, from, msg: { type: T.clientQuit, source: id, text } });
      if (kind !== 'client') cases.push({ wire, from, msg: { type: T.clientQuit, source: id, text }, silent: unknownOrOther('client') });
      if (kind === 'server' && !mine) cases.push({ wire, from, msg: { type: T.serverQuit, source: id, replacement: 0, text } });
      if (kind !== 'server') cases.push({ wire, from, msg: { type: T.serverQuit, source: id, replacement: 0, text }, silent: unknownOrOther('server') });
    }
  }
  for (const { wire, from, msg, silent } of h.random.shuffle(cases)) world.forge(wire, from, s1, msg, silent);
  await world.settle(`server 1 to refuse ${cases.filter((c) => !c.silent).length} chats and quits with status 0x04, to drop the rest in silence, and to deliver and forget nothing`);
  // Nothing was forgotten: every machine still reaches every other.
  for (const to of [101, 103, 3001]) far.chat(to, `to ${to}: still here?`);
  east.chat(3002, 3001, 'from behind server 202');
  west.chat(3001, 102, 'from behind server 201');
  east.status(3002, 3100, Code.welcome, 'to a server behind 201');
  west.status(3001, 3200, Code.welcome, 'to a server behind 202');
  await world.finish('honest chats and statuses to arrive as before');
});
