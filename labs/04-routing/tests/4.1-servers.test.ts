// Phase 4.1: servers join one another and every server learns of every other, with the right
// last hops. The grader attaches its own servers to yours and checks what each is told: its
// neighbour's own registration (last hop 0), then every other server, passed on by the neighbour
// (last hop: the neighbour's id), each exactly once, none sent back where it came from.
import { phase } from '../../../grader/harness/index.js';
import lab from '../lab.js';
import { badFlags } from './flags.js';
import { course, line4, star4, two } from './topologies.js';
import { World } from './world.js';

const test = phase(lab, '4.1');

test('two servers: each learns of the other, and of the grader servers on each; a bad flag stops a server', { points: 3 }, async (h) => {
  const world = new World(h);
  const [first, second] = two.servers;
  const s1 = await world.startServer(first!);
  // Watching before the second server joins: its registration must be passed on, with last hop 1.
  await world.graderServer(201, { to: s1, mode: 'bytes' });
  const s2 = await world.startServer(second!, s1);
  await world.graderServer(202, { to: s2, mode: 'coalesced', behind: [{ id: 301, kind: 'server' }, { id: 302, kind: 'server' }] });
  await world.finish('every server to learn of every other server');
  await badFlags(h, 'server', { id: 9, servername: 'nine', info: '' }, [
    ['id', { id: 0 }],
    ['id', { id: 4_294_967_296 }],
    ['id', { id: -1 }],
    ['id', { id: 'seven' }],
    // 128 characters, 256 bytes: the limit counts bytes.
    ['servername', { servername: 'é'.repeat(128) }],
    ['servername', { servername: '' }],
    ['port', { port: 65_536 }],
    ['port', { port: 0 }],
  ]);
});

test('four in a line, with a grader server in the middle that passes registrations on', { points: 4 }, async (h) => {
  const world = new World(h);
  const [one, two_, three, four] = line4.servers;
  const s1 = await world.startServer(one!);
  const s2 = await world.startServer(two_!, s1);
  // 1 - 2 - G250 - 3 - 4: your server 3 joins through the grader's server, which must relay.
  const middle = await world.graderServer(250, { to: s2, listen: true, mode: 'coalesced' });
  const s3 = await world.startServer(three!, middle);
  const s4 = await world.startServer(four!, s3);
  await world.graderServer(201, { to: s1, mode: 'bytes' });
  await world.graderServer(204, { to: s4, mode: 'whole' });
  await world.finish('registrations to cross the line both ways');
});

test('four in a star', { points: 3 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(star4);
  await world.observers(servers.values(), 201, ['coalesced', 'whole', 'bytes']);
  await world.finish('every server of the star to learn of every other');
});

test("the course's eleven servers", { points: 6 }, async (h) => {
  const world = new World(h);
  const servers = await world.build(course);
  await world.observers(servers.values(), 201, ['whole', 'coalesced', 'bytes']);
  await world.finish('all eleven servers and the eleven grader servers to learn of each other');
});
