// Plain Node runs no TypeScript (not before Node 22.6), and a loader hook such as tsx's costs
// more than it saves: every import of the process passes through it, vitest's and vite's
// hundreds of modules included (about 1 s of CPU at each grader start, 0.15 s even when it is
// registered after vitest is loaded). So the kit's TypeScript is bundled with esbuild instead,
// once, into a JavaScript file under .switchboard/, remade when one of its sources changes:
// start.mjs does it for each command, importTypeScript() for what a command loads by path later
// (a lab's lab.ts, its trace decoders). Packages stay outside the bundle, loaded by Node.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';

function stampOf(file) {
  try {
    const s = statSync(file);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/**
 * A bundled module's import.meta.url would be the bundle's; the grader finds the kit's root and
 * its pages from its own file's place, so each module keeps the URL of its source.
 */
const ownUrl = {
  name: 'own-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.[cm]?ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      return { contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
    });
  },
};

/**
 * The bundle of `entry` (an absolute .ts file) in ROOT/.switchboard/FOLDER/, made if it is missing
 * or older than one of its sources. `temporary` is set when the bundle could not be renamed into
 * place (Windows refuses to replace a file another process has open): the caller uses it once
 * and removes it with removeBundle().
 */
export async function bundled(root, entry, { folder } = { folder: 'modules' }) {
  const key = createHash('sha1').update(entry).digest('hex').slice(0, 12);
  const dir = path.join(root, '.switchboard', folder);
  const out = path.join(dir, `${path.basename(entry).replace(/\.[cm]?ts$/, '')}-${key}.mjs`);
  const stampFile = `${out}.inputs.json`;
  try {
    const inputs = JSON.parse(readFileSync(stampFile, 'utf8'));
    statSync(out);
    if (Object.entries(inputs).every(([file, stamp]) => stampOf(file) === stamp)) return { file: out, temporary: false };
  } catch {
    // Not bundled yet, or its record is unreadable: bundle.
  }
  const { build } = await import('esbuild');
  mkdirSync(dir, { recursive: true });
  const result = await build({
    entryPoints: [entry],
    outfile: out,
    write: false,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
    plugins: [ownUrl],
  });
  const inputs = {};
  for (const file of Object.keys(result.metafile.inputs)) {
    const full = path.resolve(root, file);
    inputs[full] = stampOf(full);
  }
  // Several graders may start at once (a batch, the kit's tests): each writes its own file and
  // renames it into place, so none ever imports a half-written bundle.
  const temp = `${out}.${process.pid}.tmp.mjs`;
  writeFileSync(temp, result.outputFiles.find((f) => f.path.endsWith('.mjs')).contents);
  writeFileSync(`${temp}.map`, result.outputFiles.find((f) => f.path.endsWith('.map')).contents);
  try {
    renameSync(`${temp}.map`, `${out}.map`);
    renameSync(temp, out);
    writeFileSync(stampFile, JSON.stringify(inputs));
    return { file: out, temporary: false };
  } catch {
    return { file: temp, temporary: true };
  }
}

export function removeBundle({ file, temporary }) {
  if (temporary) for (const f of [file, `${file}.map`]) rmSync(f, { force: true });
}

/**
 * Imports a TypeScript module by path: directly where TypeScript is understood (vitest, the
 * kit's tests, the grader's test workers), from its bundle in plain Node (the kit's commands).
 */
export async function importTypeScript(root, file) {
  try {
    return await import(pathToFileURL(file).href);
  } catch (error) {
    if (error?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
  }
  const bundle = await bundled(root, file);
  try {
    return await import(pathToFileURL(bundle.file).href);
  } finally {
    removeBundle(bundle);
  }
}
