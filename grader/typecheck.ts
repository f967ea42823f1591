// The grader compiles a student's TypeScript with esbuild, which strips types without checking
// them: `const n: number = 'x'` runs. A type error then shows up, if at all, as a stranger failure
// in some test. So before the tests the grader type-checks the lab's programs with the kit's own
// compiler and settings, and shows the errors as warnings with file and line: they never cost a
// point, but they often explain one.
//
// A check's answer is kept with the contents of every file the compiler read (outside
// node_modules): the same program, in any folder, is answered without running the compiler
// again, and a change to any of its files runs it again. (A batch grades many copies of the same
// starter; the kit's own tests grade each solution many times.)
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

/** At most this many errors are shown; the rest are counted. */
const shown = 5;

interface Answer {
  /** Every file the compiler read, outside node_modules, relative to `cwd`, with its content's hash. */
  files: Record<string, string>;
  lines: string[];
}

function hashOf(file: string): string | undefined {
  try {
    return createHash('sha1').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

function versionOf(root: string, pkg: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'none';
  }
}

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
  // The answer is looked up by the entries' names and contents and the compiler's versions, then
  // trusted only if every other file it read is unchanged.
  const key = createHash('sha1')
    .update(JSON.stringify([versionOf(root, 'typescript'), versionOf(root, '@types/node'), config.compilerOptions.strict]))
    .update(JSON.stringify(files.map((f) => [path.relative(cwd, f), hashOf(f)])))
    .digest('hex');
  const answers = path.join(root, '.switchboard', 'typecheck', 'answers');
  const answerFile = path.join(answers, `${key}.json`);
  try {
    const answer = JSON.parse(readFileSync(answerFile, 'utf8')) as Answer;
    if (Object.entries(answer.files).every(([file, hash]) => hashOf(path.resolve(cwd, file)) === hash)) return answer.lines;
  } catch {
    // Not checked before, or the record is unreadable: check.
  }
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config, null, 2));
  const result = await execa(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json'), '--pretty', 'false', '--listFiles'], { cwd, reject: false, timeout: 60_000 });
  if (result.timedOut) return [];
  const output = String(result.stdout).split('\n');
  const errors = output
    .filter((line) => /error TS\d+/.test(line))
    // "server.ts(12,5): error TS2322: ..." reads better as "server.ts:12:5: ...".
    .map((line) => line.replace(/^(.*?)\((\d+),(\d+)\): error (TS\d+): /, '$1:$2:$3: $4 '));
  const lines = errors.length <= shown ? errors : [...errors.slice(0, shown), `… and ${errors.length - shown} more`];
  // --listFiles names every file of the program, one absolute path a line, the libraries' included.
  const read: Record<string, string> = {};
  for (const line of output) {
    const file = line.trim();
    if (!path.isAbsolute(file) || /error TS\d+/.test(line) || file.split(/[\\/]/).includes('node_modules')) continue;
    const hash = hashOf(file);
    if (hash) read[path.relative(cwd, file)] = hash;
  }
  // Kept only when the compiler said what it read: an answer without its files would never go stale.
  if (result.exitCode === 0 || errors.length > 0) {
    mkdirSync(answers, { recursive: true });
    const temp = `${answerFile}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify({ files: read, lines } satisfies Answer));
    renameSync(temp, answerFile);
  }
  return lines;
}
