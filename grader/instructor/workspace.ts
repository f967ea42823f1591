// Each submission is graded in its own copy, so that nothing a run writes (or a student's program
// writes) lands in the instructor's folder, and two runs never share a file. The copy leaves out
// dependencies and version control: the kit's own node_modules serve every copy.
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildFolder } from '../harness/build.js';
import type { LabSpec } from '../lab.js';
import { ignoredNames } from './submissions.js';

/** A fresh temporary folder for one batch; remove it with removeTree when the batch ends. */
export function makeScratch(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

/**
 * Confined grading: a grading user may pass through the scratch folder to its own copy and work
 * folder, but list none of it (the names of the other submissions).
 */
export function openScratch(scratch: string): void {
  for (const dir of [scratch, path.join(scratch, 'copies'), path.join(scratch, 'work')]) {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o711);
  }
}

/** Copies the folder `from` to `to` (which must not exist), without node_modules, .git and the like. */
export function copyTree(from: string, to: string): void {
  cpSync(from, to, {
    recursive: true,
    filter: (source) => !ignoredNames.has(path.basename(source)),
  });
}

export function removeTree(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Drops the grader's cached builds of a copy's programs: the copy is gone, its builds are garbage. */
export function forgetBuilds(root: string, lab: LabSpec, folder: string): void {
  for (const program of Object.values(lab.programs)) {
    removeTree(buildFolder(path.join(folder, program.file), path.join(root, '.switchboard', 'build')));
  }
}
