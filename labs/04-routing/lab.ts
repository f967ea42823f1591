// Lab 4's registry: its programs with the flags spec/04-routing.md gives them, and its phases
// with points, deadlines and the spec section behind each. Tests, handout and spec agree with
// this file (the kit's own tests check it).
import { defineLab, type ProgramParams } from '../../grader/lab.js';

const text = (value: ProgramParams[string], fallback = '') => (value === undefined ? fallback : String(value));

export default defineLab({
  number: 4,
  dir: '04-routing',
  title: 'a spanning tree of chat servers',
  mainProgram: 'server',
  programs: {
    // The grader chooses the port; a server with a parent is given connect_to_port as well.
    server: {
      file: 'server.ts',
      listens: true,
      flags: (p) => [
        '--id', text(p.id),
        '--servername', text(p.servername),
        '--port', text(p.port),
        '--info', text(p.info),
        ...(p.connect_to_port === undefined ? [] : ['--connect_to_host', text(p.connect_to_host, '127.0.0.1'), '--connect_to_port', text(p.connect_to_port)]),
      ],
    },
    client: {
      file: 'client.ts',
      listens: false,
      flags: (p) => [
        '--id', text(p.id),
        '--serverhost', text(p.serverhost, '127.0.0.1'),
        '--serverport', text(p.serverport),
        '--username', text(p.username),
        '--info', text(p.info),
      ],
    },
  },
  phases: [
    { id: '4.1', name: 'a network of servers', points: 16, timeoutMs: 60_000, spec: 'spec/04-routing.md#4-joining-the-network' },
    { id: '4.2', name: 'clients join', points: 12, timeoutMs: 60_000, needs: ['4.1'], spec: 'spec/04-routing.md#4-joining-the-network' },
    { id: '4.3', name: 'chat along the tree', points: 18, timeoutMs: 60_000, needs: ['4.1', '4.2'], spec: 'spec/04-routing.md#5-routing' },
    { id: '4.4', name: 'status messages', points: 16, timeoutMs: 60_000, needs: ['4.1', '4.2'], spec: 'spec/04-routing.md#6-status-messages' },
    { id: '4.5', name: 'clients leave', points: 12, timeoutMs: 60_000, needs: ['4.1', '4.2'], spec: 'spec/04-routing.md#7-leaving-the-network' },
    { id: '4.6', name: 'servers leave, links die', points: 10, timeoutMs: 60_000, needs: ['4.1'], spec: 'spec/04-routing.md#7-leaving-the-network' },
    { id: '4.7', name: 'nobody speaks for someone else', points: 8, timeoutMs: 60_000, needs: ['4.1', '4.2'], spec: 'spec/04-routing.md#65-nobody-speaks-for-someone-else' },
    { id: '4.8', name: "among the course's servers", points: 8, timeoutMs: 60_000, needs: ['4.1', '4.2'], spec: 'spec/04-routing.md#10-the-courses-own-servers' },
  ],
});
