// Lab 1's instructor-only phases, graded with `npm run lab 1 -- --hidden` and in the Gradescope
// package, and left out of the student repository. They check what the spec asks and the public
// tests do not show, so that a server tuned to the public tests loses points here.
import { withHiddenPhases } from '../../../grader/lab.js';
import lab from '../lab.js';

export default withHiddenPhases(lab, [
  { id: '1.6', name: 'payloads of other shapes and sizes', points: 11, timeoutMs: 30_000, needs: ['1.1'], spec: 'spec/01-echo.md#2-the-echo-server' },
]);
