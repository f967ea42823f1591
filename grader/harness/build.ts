// The launcher compiles a TypeScript program once, with esbuild, into one JavaScript file with
// a source map, and the harness starts it with plain `node --enable-source-maps`. Starting
// through tsx costs several times more per process, and lab 4 starts eleven servers a test.
// The build is cached on disk and redone only when one of its source files changes.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build, type Message, type Plugin } from 'esbuild';

export class BuildFailure extends Error {
  constructor(entry: string, errors: Message[]) {
    const lines = errors.slice(0, 5).map((e) => {
      const where = e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ` : '';
      const code = e.location?.lineText ? `\n      ${e.location.lineText.trim()}` : '';
      return `  ${where}${e.text}${code}`;
    });
    super(`${path.basename(entry)} does not compile:\n${lines.join('\n')}`);
    this.name = 'BuildFailure';
  }
}

interface Stamp {
  inputs: Record<string, string>;
}

function stampOf(file: string): string {
  try {
    const s = statSync(file);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

function upToDate(stampFile: string, outFile: string): boolean {
  if (!existsSync(stampFile) || !existsSync(outFile)) return false;
  try {
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as Stamp;
    return Object.entries(stamp.inputs).every(([file, s]) => stampOf(file) === s);
  } catch {
    return false;
  }
}

/** The folder in `buildDir` that caches the build of `entry`, one per entry file. */
export function buildFolder(entry: string, buildDir: string): string {
  const key = createHash('sha1').update(path.resolve(entry)).digest('hex').slice(0, 12);
  return path.join(buildDir, key);
}

/**
 * When grading others' code, a program may bundle only files of its own folder: the build runs
 * as the grader, which can read the kit, and an `import` of a hidden test would put that test's
 * code in the program (where it could print it).
 */
function onlyInside(folder: string): Plugin {
  const inside = (file: string) => {
    let real = file;
    try {
      real = realpathSync(file);
    } catch {
      // Not there: esbuild says so.
    }
    const rel = path.relative(folder, real);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  };
  return {
    name: 'only-inside',
    setup(b) {
      b.onLoad({ filter: /.*/ }, (args) => {
        if (args.namespace !== 'file' || inside(args.path)) return undefined;
        return { errors: [{ text: `imports ${args.path}, which is outside the submission's folder: a graded program may use only its own files and node's modules` }] };
      });
    },
  };
}

/** Compiles `entry` (a .ts file) into `buildDir`; returns the path of the JavaScript file. `confineTo`: no file outside this folder. */
export async function buildProgram(entry: string, buildDir: string, options: { confineTo?: string } = {}): Promise<string> {
  const absolute = path.resolve(entry);
  if (!existsSync(absolute)) throw new Error(`there is no ${absolute}`);
  const dir = buildFolder(absolute, buildDir);
  const outFile = path.join(dir, path.basename(absolute).replace(/\.[cm]?tsx?$/, '') + '.mjs');
  const stampFile = `${outFile}.stamp.json`;
  if (upToDate(stampFile, outFile)) return outFile;

  mkdirSync(dir, { recursive: true });
  // Build beside the final name and rename, so a concurrent worker never runs a half-written file.
  const temp = `${outFile}.${process.pid}.tmp.mjs`;
  let result;
  try {
    result = await build({
      entryPoints: [absolute],
      outfile: temp,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: path.dirname(absolute),
      plugins: options.confineTo ? [onlyInside(realpathSync(options.confineTo))] : [],
    });
  } catch (error) {
    throw new BuildFailure(absolute, (error as { errors?: Message[] }).errors ?? [{ text: String(error) } as Message]);
  }
  const inputs: Record<string, string> = {};
  for (const input of Object.keys(result.metafile.inputs)) {
    const file = path.resolve(path.dirname(absolute), input);
    inputs[file] = stampOf(file);
  }
  renameSync(temp, outFile);
  writeFileSync(stampFile, JSON.stringify({ inputs } satisfies Stamp));
  return outFile;
}
