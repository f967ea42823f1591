// Lab 4's instructor-only phase, graded with `npm run lab 4 -- --hidden` and left out of the
// student repository. The public tests use small ids and fixed trees; this one builds a random
// tree whose ids are random 32-bit numbers, half of them above 2^31, so that a server that reads
// ids as signed numbers, keys its table by position, or was tuned to the public trees loses
// points here (spec sections 3 and 5).
import { withHiddenPhases } from '../../../grader/lab.js';
import lab from '../lab.js';

export default withHiddenPhases(lab, [
  { id: '4.9', name: 'random trees with 32-bit ids', points: 11, timeoutMs: 60_000, needs: ['4.1', '4.2'], spec: 'spec/04-routing.md#5-routing' },
]);
