// Lab 1's registry: its programs with the flags spec/01-echo.md gives them, and its phases
// with points, deadlines and the spec section behind each. Tests, handout and spec agree with
// this file (the kit's own tests check it).
import { defineLab } from '../../grader/lab.js';

export default defineLab({
  number: 1,
  dir: '01-echo',
  title: 'TCP echo server and client',
  mainProgram: 'server',
  programs: {
    server: { file: 'server.ts', listens: true, flags: ({ port }) => ['--port', String(port)] },
    client: { file: 'client.ts', listens: false, flags: ({ port, host }) => ['--port', String(port), ...(host === undefined ? [] : ['--host', String(host)])] },
  },
  phases: [
    { id: '1.1', name: 'a connection and a line, echoed', points: 15, timeoutMs: 20_000, spec: 'spec/01-echo.md#2-the-echo-server' },
    { id: '1.2', name: 'exact bytes', points: 25, timeoutMs: 30_000, needs: ['1.1'], spec: 'spec/01-echo.md#2-the-echo-server' },
    { id: '1.3', name: 'many clients, one after another', points: 20, timeoutMs: 30_000, needs: ['1.1'], spec: 'spec/01-echo.md#3-connections' },
    { id: '1.4', name: 'many clients at once', points: 20, timeoutMs: 30_000, needs: ['1.1'], spec: 'spec/01-echo.md#3-connections' },
    { id: '1.5', name: 'the client program', points: 20, timeoutMs: 30_000, spec: 'spec/01-echo.md#4-the-client' },
  ],
});
