// A setup file of the kit's own tests: with SWITCHBOARD_TIMINGS_DIR set (by `npm run
// test:timings`), each test file writes there the CPU time it cost, its own and that of every
// process it started and reaped (the grader runs, their workers, the programs under test), so
// that docs/test-timings.md can say where the CPU goes, not only the wall time, and the file's
// wall time from before its own beforeAll hooks (vitest's report starts a file at its first test:
// a file that grades a batch in beforeAll looked short, and was started last). CPU is Linux only
// (/proc/self/stat).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/** This process's CPU seconds, with its reaped children's (utime, stime, cutime, cstime). */
function cpuSeconds(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // The command name (field 2) may hold spaces: count fields from after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    return ticks / 100;
  } catch {
    return undefined;
  }
}

const dir = process.env.SWITCHBOARD_TIMINGS_DIR;
if (dir) {
  let start: number | undefined;
  let startedAt = 0;
  beforeAll(() => {
    start = cpuSeconds();
    startedAt = Date.now();
  });
  // vitest reads a hook's first parameter as its fixtures, which must be destructured.
  afterAll(({}, suite) => {
    const end = cpuSeconds();
    const file = suite.file?.filepath;
    if (start === undefined || end === undefined || !file) return;
    const name = `${path.basename(file)}.${process.pid}.${Date.now()}.json`;
    writeFileSync(path.join(dir, name), JSON.stringify({ file, cpuSeconds: Math.round((end - start) * 10) / 10, wallSeconds: (Date.now() - startedAt) / 1000 }));
  });
}
