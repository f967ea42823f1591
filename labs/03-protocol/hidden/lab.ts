// Lab 3 with its instructor-only phases. Graded only with --hidden; never exported to students.
import base from '../lab.js';
import { withHiddenPhases } from '../../../grader/lab.js';

export default withHiddenPhases(base, [
  { id: '3.8', name: 'limits, exactly at the edge', points: 10, timeoutMs: 60_000, needs: ['3.1'], spec: 'spec/03-protocol.md#13-limits' },
  { id: '3.9', name: 'the client: other endings', points: 6, timeoutMs: 30_000, spec: 'spec/03-protocol.md#12-the-client' },
]);
