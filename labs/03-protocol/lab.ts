// Lab 3's registry: its programs with the flags spec/03-protocol.md gives them, and its phases
// with points, deadlines and the spec section behind each. Tests, handout and spec agree with
// this file (the kit's own tests check it).
import { defineLab, type ProgramParams } from '../../grader/lab.js';

/** --port N, and --wire W when a test asks for an encoding (binary is the default). */
function flags({ port, wire, host }: ProgramParams): string[] {
  return ['--port', String(port), ...(wire === undefined ? [] : ['--wire', String(wire)]), ...(host === undefined ? [] : ['--host', String(host)])];
}

export default defineLab({
  number: 3,
  dir: '03-protocol',
  title: 'binary wire protocol, accounts and offline messages',
  mainProgram: 'server',
  programs: {
    server: { file: 'server.ts', listens: true, flags },
    client: { file: 'client.ts', listens: false, flags },
  },
  phases: [
    { id: '3.1', name: 'the codec: values round trip', points: 20, timeoutMs: 30_000, spec: 'spec/03-protocol.md#3-values' },
    { id: '3.2', name: 'framing', points: 10, timeoutMs: 30_000, needs: ['3.1'], spec: 'spec/03-protocol.md#2-frames' },
    { id: '3.3', name: 'accounts and sessions', points: 15, timeoutMs: 30_000, needs: ['3.1'], spec: 'spec/03-protocol.md#8-accounts' },
    { id: '3.4', name: 'messages: pushed or queued, exactly once', points: 20, timeoutMs: 40_000, needs: ['3.1', '3.3'], spec: 'spec/03-protocol.md#9-delivery' },
    { id: '3.5', name: 'bad input', points: 15, timeoutMs: 30_000, needs: ['3.1'], spec: 'spec/03-protocol.md#6-errors' },
    { id: '3.6', name: 'the JSON encoding', points: 10, timeoutMs: 30_000, needs: ['3.1', '3.3'], spec: 'spec/03-protocol.md#10-the-json-encoding' },
    { id: '3.7', name: 'the client program', points: 10, timeoutMs: 30_000, spec: 'spec/03-protocol.md#12-the-client' },
  ],
});
