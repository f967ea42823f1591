import { withHiddenPhases } from '../../../grader/lab.js';
import lab from '../lab.js';

export default withHiddenPhases(lab, [
  { id: '7.7', name: 'other schedules and sizes: longer faults, four and five replicas, compaction under faults, votes counted to a majority', points: 24, timeoutMs: 240_000, needs: ['7.3'], spec: 'spec/07-consensus.md#13-why-it-is-safe' },
  { id: '7.8', name: 'explored schedules and messages: crashes at named points, votes and tokens compared, terms from every message, snapshots over a log that disagrees', points: 22, timeoutMs: 150_000, needs: ['7.3'], spec: 'spec/07-consensus.md#3-terms' },
]);
