// The order in which `npm test` starts the kit's test files: the longest first, by the wall
// times last measured (grader/test/timings.json, written by `npm run test:timings`), so that
// neither worker is left with a long file at the end while the other sits idle. A file not yet
// measured counts as long: a new test file is started early rather than last.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import type { Timings } from './timings.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const unknownSeconds = 600;

function measured(): Record<string, number> {
  const file = path.join(root, 'grader', 'test', 'timings.json');
  if (!existsSync(file)) return {};
  return (JSON.parse(readFileSync(file, 'utf8')) as Timings).files;
}

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const seconds = measured();
    const cost = (spec: TestSpecification) => seconds[path.relative(root, spec.moduleId)] ?? unknownSeconds;
    return [...files].sort((a, b) => cost(b) - cost(a));
  }
}
