// Before a submission is graded: the problems that stop its programs from running at all, said
// in one line each, for the instructor's table. The grading still runs (a missing client does
// not cost the server its points); this only names the cause once instead of once per test.
import path from 'node:path';
import { BuildFailure, buildProgram } from '../harness/build.js';
import type { LabSpec } from '../lab.js';

/** "missing client.ts", "server.ts does not compile: server.ts:3:7: Expected ...". */
export async function startProblems(lab: LabSpec, folder: string, missing: string[], buildDir: string, options: { confined?: boolean } = {}): Promise<string[]> {
  const problems = missing.map((file) => `missing ${file}`);
  for (const program of Object.values(lab.programs)) {
    if (missing.includes(program.file)) continue;
    try {
      await buildProgram(path.join(folder, program.file), buildDir, { confineTo: options.confined ? folder : undefined });
    } catch (error) {
      if (!(error instanceof BuildFailure)) throw error;
      const [title, first] = error.message.split('\n');
      problems.push(`${title!.replace(/:$/, '')}: ${first?.trim().replace(/^.*?[\\/]([^\\/]+:\d+:\d+:)/, '$1') ?? ''}`);
    }
  }
  return problems;
}
