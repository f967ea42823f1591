// The grader compiles a student's TypeScript with esbuild, which strips types without checking
// them: `const n: number = 'x'` runs. A type error then shows up, if at all, as a stranger failure
// in some test. So before the tests the grader type-checks the lab's programs with the kit's own
// compiler and settings, and shows the errors as warnings with file and line: they never cost a
// point, but they often explain one.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

/** At most this many errors are shown; the rest are counted. */
const shown = 5;

/** Type-checks `entries` (absolute .ts files); returns the errors, one line each, paths relative to `cwd`. */
export async function typeErrors(root: string, entries: string[], cwd: string): Promise<string[]> {
  const files = entries.filter((f) => existsSync(f));
  if (files.length === 0) return [];
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) return [];
  const dir = path.join(root, '.switchboard', 'typecheck', createHash('sha1').update(files.join('\0')).digest('hex').slice(0, 12));
  mkdirSync(dir, { recursive: true });
  const config = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [path.join(root, 'node_modules', '@types')],
    },
    files,
  };
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config, null, 2));
  const result = await execa(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json'), '--pretty', 'false'], { cwd, reject: false, timeout: 60_000 });
  if (result.exitCode === 0 || result.timedOut) return [];
  const lines = String(result.stdout)
    .split('\n')
    .filter((line) => /error TS\d+/.test(line))
    // "server.ts(12,5): error TS2322: ..." reads better as "server.ts:12:5: ...".
    .map((line) => line.replace(/^(.*?)\((\d+),(\d+)\): error (TS\d+): /, '$1:$2:$3: $4 '));
  if (lines.length <= shown) return lines;
  return [...lines.slice(0, shown), `… and ${lines.length - shown} more`];
}
