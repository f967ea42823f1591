// Lab 2's registry: its programs with the flags spec/02-chat.md gives them, and its phases
// with points, deadlines and the spec section behind each. Tests, handout and spec agree with
// this file (the kit's own tests check it).
import { defineLab } from '../../grader/lab.js';

export default defineLab({
  number: 2,
  dir: '02-chat',
  title: 'multi-user chat server and client',
  mainProgram: 'server',
  programs: {
    server: { file: 'server.ts', listens: true, flags: ({ port }) => ['--port', String(port)] },
    client: {
      file: 'client.ts',
      listens: false,
      flags: ({ port, name, host }) => ['--port', String(port), ...(name === undefined ? [] : ['--name', String(name)]), ...(host === undefined ? [] : ['--host', String(host)])],
    },
  },
  phases: [
    { id: '2.1', name: 'names, messages, joins and leaves', points: 15, timeoutMs: 20_000, spec: 'spec/02-chat.md#4-messages-joins-and-leaves' },
    { id: '2.2', name: 'name rules, commands and errors', points: 20, timeoutMs: 20_000, needs: ['2.1'], spec: 'spec/02-chat.md#5-commands' },
    { id: '2.3', name: 'framing: split, joined and over-long lines', points: 15, timeoutMs: 30_000, needs: ['2.1'], spec: 'spec/02-chat.md#2-lines' },
    { id: '2.4', name: 'abrupt disconnects', points: 10, timeoutMs: 30_000, needs: ['2.1'], spec: 'spec/02-chat.md#7-leaving' },
    { id: '2.5', name: 'fan-out: 200 clients', points: 15, timeoutMs: 90_000, needs: ['2.1'], spec: 'spec/02-chat.md#8-many-clients' },
    { id: '2.6', name: 'the slow consumer', points: 15, timeoutMs: 90_000, needs: ['2.1'], spec: 'spec/02-chat.md#9-slow-clients' },
    { id: '2.7', name: 'the client program', points: 10, timeoutMs: 30_000, spec: 'spec/02-chat.md#10-the-client-program' },
  ],
});
