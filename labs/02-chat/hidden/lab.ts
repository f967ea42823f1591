// Lab 2's instructor-only phase, graded with `npm run lab 2 -- --hidden` and in the Gradescope
// package, and left out of the student repository. It checks what the spec asks and the public
// tests do not show, so that a server tuned to the public tests loses points here.
import { withHiddenPhases } from '../../../grader/lab.js';
import lab from '../lab.js';

export default withHiddenPhases(lab, [
  { id: '2.8', name: 'other names, other texts, other orders', points: 10, timeoutMs: 30_000, needs: ['2.1'], spec: 'spec/02-chat.md#3-names' },
]);
