// Lab 6's registry: its programs with the flags spec/06-replication.md gives them, and its phases
// with points, deadlines and the spec section behind each. Tests, handout and spec agree with
// this file (the kit's own tests check it).
import { defineLab, type ProgramParams } from '../../grader/lab.js';

/** --id N --port P --peers LIST --data DIR [--host H] --heartbeat-ms H --timeout-ms T (spec section 2). */
function replicaFlags({ id, port, peers, data, host, heartbeatMs, timeoutMs }: ProgramParams): string[] {
  return [
    '--id', String(id), '--port', String(port), '--peers', String(peers), '--data', String(data),
    ...(host === undefined ? [] : ['--host', String(host)]),
    ...(heartbeatMs === undefined ? [] : ['--heartbeat-ms', String(heartbeatMs)]),
    ...(timeoutMs === undefined ? [] : ['--timeout-ms', String(timeoutMs)]),
  ];
}

export default defineLab({
  number: 6,
  dir: '06-replication',
  title: 'replicated chat: primary-backup, heartbeats, ring election, client failover',
  mainProgram: 'replica',
  carries: '05-persistence', // the starter has lab 5's service and log finished, for the replicas to keep
  programs: {
    replica: { file: 'replica.ts', listens: true, flags: replicaFlags },
    client: { file: 'client.ts', listens: false, flags: ({ replicas }) => ['--replicas', String(replicas)] },
  },
  phases: [
    { id: '6.1', name: 'a cluster forms with one primary', points: 15, timeoutMs: 60_000, spec: 'spec/06-replication.md#7-election' },
    { id: '6.2', name: 'a write is acknowledged once a majority stored it', points: 15, timeoutMs: 60_000, needs: ['6.1'], spec: 'spec/06-replication.md#5-replication' },
    { id: '6.3', name: 'the primary crashes: a new one takes over, nothing acknowledged is lost', points: 20, timeoutMs: 90_000, needs: ['6.2'], spec: 'spec/06-replication.md#6-heartbeats-and-failure-detection' },
    { id: '6.4', name: 'clients fail over and a retried SEND is applied once', points: 20, timeoutMs: 90_000, needs: ['6.2'], spec: 'spec/06-replication.md#8-clients' },
    { id: '6.5', name: 'a returning replica catches up before it counts', points: 15, timeoutMs: 90_000, needs: ['6.2'], spec: 'spec/06-replication.md#9-catch-up' },
    { id: '6.6', name: 'five replicas survive two crashes and stop at three', points: 15, timeoutMs: 90_000, needs: ['6.2'], spec: 'spec/06-replication.md#54-why-a-majority' },
  ],
});
