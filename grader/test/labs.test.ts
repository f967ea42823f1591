// Every lab in labs/ has its invariants checked (grader/test/lab-invariants.ts), by a file of
// its own in grader/test/labs/: a new lab without one fails here rather than going unchecked.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { labDirs, loadLab } from '../labs.js';
import { root } from './support.js';

test('every lab has its file of invariants in grader/test/labs/', () => {
  const missing = labDirs(root).filter((dir) => !existsSync(path.join(root, 'grader', 'test', 'labs', `${dir}.test.ts`)));
  expect(missing, "add grader/test/labs/NN-name.test.ts: import { labInvariants } from '../lab-invariants.js'; await labInvariants('NN-name');").toEqual([]);
});

test('every phase needs only phases before it, hidden ones included (the grader waits for needs in that order)', async () => {
  for (const dir of labDirs(root)) for (const hidden of [false, true]) await expect(loadLab(root, dir, { hidden })).resolves.toBeDefined();
});
