// A program of lab 4 started with a flag out of range must say which and exit with status 2
// (spec sections 2.1 and 2.2). Shared by the server's phase 4.1 and the client program's 4.3.
import { GradeFailure, type Harness } from '../../../grader/harness/index.js';
import type { ProgramParams } from '../../../grader/lab.js';

/**
 * Starts `program` once per case, each with one flag out of range: each must exit with status 2
 * and name the flag on standard error, without listening (spec section 2).
 */
export async function badFlags(h: Harness, program: 'server' | 'client', good: ProgramParams, cases: [flag: string, params: ProgramParams][]): Promise<void> {
  await Promise.all(
    cases.map(async ([flag, params], i) => {
      const shown = Object.entries(params).map(([k, v]) => `--${k} ${JSON.stringify(String(v))}`).join(' ');
      const proc = await h.start(program, { name: `${program} with ${shown}`, params: { ...good, ...params }, ready: false });
      await proc.expectExit(2, { what: `to refuse ${shown} and exit with status 2 (spec section 2)`, timeoutMs: 10_000 });
      const said = proc.stderrLines().join('\n');
      if (!new RegExp(`\\b${flag}\\b`).test(said)) {
        throw new GradeFailure(`${program} ${i + 1} was started with ${shown} and exited with status 2, but its standard error does not name the flag ${flag}: it said ${JSON.stringify(said)} (spec section 2)`);
      }
    }),
  );
}
