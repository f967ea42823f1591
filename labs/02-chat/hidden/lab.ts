// Lab 2's instructor-only phases, graded with `npm run lab 2 -- --hidden` and in the Gradescope
// package, and left out of the student repository. They check what the spec asks and the public
// tests do not show, so that a program tuned to the public tests loses points here.
import { withHiddenPhases } from '../../../grader/lab.js';
import lab from '../lab.js';

export default withHiddenPhases(lab, [
  { id: '2.8', name: 'other names, other texts, other orders', points: 10, timeoutMs: 30_000, needs: ['2.1'], spec: 'spec/02-chat.md#3-names' },
  { id: '2.9', name: 'slow readers of other kinds', points: 10, timeoutMs: 120_000, needs: ['2.1'], spec: 'spec/02-chat.md#9-slow-clients' },
  { id: '2.10', name: 'the client: lines in many pieces, other quits', points: 6, timeoutMs: 30_000, spec: 'spec/02-chat.md#10-the-client-program' },
]);
