// Lab 5 with its instructor-only phase. Graded only with --hidden; never exported to students.
import base from '../lab.js';
import { withHiddenPhases } from '../../../grader/lab.js';

export default withHiddenPhases(base, [
  { id: '5.7', name: 'durability checked in the system calls', points: 17, timeoutMs: 90_000, needs: ['5.1'], spec: 'spec/05-persistence.md#6-durable-before-acknowledged' },
  { id: '5.8', name: 'directories the public phases never make: indexes past 2^53, records of a later version', points: 6, timeoutMs: 60_000, needs: ['5.1'], spec: 'spec/05-persistence.md#5-log-records' },
]);
