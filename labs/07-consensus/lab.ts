// Lab 7's registry: its program with the flags spec/07-consensus.md gives it, and its phases with
// points, deadlines and the spec section behind each. Tests, handout and spec agree with this file
// (the kit's own tests check it).
import { defineLab, type ProgramParams } from '../../grader/lab.js';

/**
 * --id N --port P --peers LIST --data DIR [--host H] --heartbeat-ms H --timeout-ms T
 * [--compact-after N] (spec section 2). A phase that gives no compactAfter passes lab 6's flags
 * only, so that a lab 6 replica can be graded on it (phase 7.1 shows where lab 6 breaks).
 */
function replicaFlags({ id, port, peers, data, host, heartbeatMs, timeoutMs, compactAfter }: ProgramParams): string[] {
  return [
    '--id', String(id), '--port', String(port), '--peers', String(peers), '--data', String(data),
    ...(host === undefined ? [] : ['--host', String(host)]),
    ...(heartbeatMs === undefined ? [] : ['--heartbeat-ms', String(heartbeatMs)]),
    ...(timeoutMs === undefined ? [] : ['--timeout-ms', String(timeoutMs)]),
    ...(compactAfter === undefined ? [] : ['--compact-after', String(compactAfter)]),
  ];
}

export default defineLab({
  number: 7,
  dir: '07-consensus',
  title: 'consensus: terms, majority-confirmed primaries, log repair, under pauses and partitions',
  mainProgram: 'replica',
  carries: '06-replication', // the starter has lab 6's replica finished: what this lab makes safe
  programs: {
    replica: { file: 'replica.ts', listens: true, flags: replicaFlags },
  },
  phases: [
    { id: '7.1', name: 'a paused primary comes back and acknowledges nothing', points: 15, timeoutMs: 90_000, spec: 'spec/07-consensus.md#3-terms' },
    { id: '7.2', name: 'partitions: a minority acknowledges nothing, the majority goes on', points: 20, timeoutMs: 90_000, spec: 'spec/07-consensus.md#6-election' },
    { id: '7.3', name: 'votes, log repair and the commit rule', points: 25, timeoutMs: 90_000, spec: 'spec/07-consensus.md#7-log-repair' },
    { id: '7.4', name: 'a replica far behind catches up from a snapshot', points: 10, timeoutMs: 120_000, needs: ['7.3'], spec: 'spec/07-consensus.md#10-snapshots' },
    { id: '7.5', name: 'random faults: nothing acknowledged lost, one primary per term', points: 20, timeoutMs: 180_000, needs: ['7.1', '7.2', '7.3'], spec: 'spec/07-consensus.md#13-why-it-is-safe' },
    { id: '7.6', name: 'liveness: writes resume after faults heal, and a rejoining replica does not disrupt', points: 10, timeoutMs: 120_000, needs: ['7.2'], spec: 'spec/07-consensus.md#9-pre-vote' },
  ],
});
