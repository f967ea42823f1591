// Lab 5's registry: its programs with the flags spec/05-persistence.md gives them, and its phases
// with points, deadlines and the spec section behind each. Tests, handout and spec agree with
// this file (the kit's own tests check it).
import { defineLab, type ProgramParams } from '../../grader/lab.js';

/** --port N --data DIR, and --compact-after N when a test sets the threshold. */
function serverFlags({ port, data, compactAfter }: ProgramParams): string[] {
  return ['--port', String(port), '--data', String(data), ...(compactAfter === undefined ? [] : ['--compact-after', String(compactAfter)])];
}

export default defineLab({
  number: 5,
  dir: '05-persistence',
  title: 'durable chat: a write-ahead log, crash recovery and compaction',
  mainProgram: 'server',
  carries: '03-protocol', // the starter has lab 3's codec finished: the frames, values and wildcards
  programs: {
    server: { file: 'server.ts', listens: true, flags: serverFlags },
    client: { file: 'client.ts', listens: false, flags: ({ port, host }) => ['--port', String(port), ...(host === undefined ? [] : ['--host', String(host)])] },
  },
  phases: [
    { id: '5.1', name: 'a clean restart keeps everything', points: 20, timeoutMs: 40_000, spec: 'spec/05-persistence.md#5-log-records' },
    { id: '5.2', name: 'kill -9 under load loses nothing acknowledged', points: 25, timeoutMs: 90_000, needs: ['5.1'], spec: 'spec/05-persistence.md#6-durable-before-acknowledged' },
    { id: '5.3', name: 'torn and damaged logs', points: 20, timeoutMs: 60_000, needs: ['5.1'], spec: 'spec/05-persistence.md#8-recovery' },
    { id: '5.4', name: 'compaction', points: 15, timeoutMs: 90_000, needs: ['5.1'], spec: 'spec/05-persistence.md#9-snapshots-and-compaction' },
    { id: '5.5', name: 'recovery of a large log', points: 10, timeoutMs: 60_000, needs: ['5.1'], spec: 'spec/05-persistence.md#8-recovery' },
    { id: '5.6', name: 'the client reconnects and shows each message once', points: 10, timeoutMs: 40_000, spec: 'spec/05-persistence.md#10-the-client' },
  ],
});
