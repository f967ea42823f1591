// Starts one of the kit's commands: `node grader/start.mjs grader/cli.ts 1 --solution` runs
// grader/cli.ts with the arguments after it, as `node --import tsx grader/cli.ts ...` would.
//
// Why not tsx alone: tsx compiles TypeScript through a loader hook that every import of the
// process passes through, vitest's and vite's hundreds of modules included, and that cost about
// 1.4 s of CPU and 0.8 s of waiting at each start (measured on lab 1's first phase: 3.8 s of CPU
// with tsx, 2.4 s this way). A batch of submissions starts one grader per submission, and the
// kit's own tests about seventy. So the command and the kit's modules it imports are bundled once
// with esbuild into one JavaScript file in .switchboard/start/ (remade when one of its sources
// changes), and the packages stay outside it, loaded by Node without any hook. tsx is registered
// after them, for what the grader imports later by path: each lab's lab.ts.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [given, ...args] = process.argv.slice(2);
if (!given) {
  console.error('usage: node grader/start.mjs FILE.ts [ARGS...]');
  process.exit(2);
}
const entry = path.resolve(root, given);
const key = createHash('sha1').update(entry).digest('hex').slice(0, 12);
const dir = path.join(root, '.switchboard', 'start');
const out = path.join(dir, `${path.basename(entry, '.ts')}-${key}.mjs`);
const stampFile = `${out}.inputs.json`;

function stampOf(file) {
  try {
    const s = statSync(file);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

function upToDate() {
  try {
    const inputs = JSON.parse(readFileSync(stampFile, 'utf8'));
    statSync(out);
    return Object.entries(inputs).every(([file, stamp]) => stampOf(file) === stamp);
  } catch {
    return false;
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

async function bundle() {
  const { build } = await import('esbuild');
  mkdirSync(dir, { recursive: true });
  // Several graders may start at once (a batch, the kit's tests): each writes its own file and
  // renames it into place, so none ever imports a half-written bundle.
  const temp = `${out}.${process.pid}.tmp.mjs`;
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
    banner: { js: "import { register as registerTsx } from 'tsx/esm/api'; registerTsx();" },
  });
  const inputs = {};
  for (const file of Object.keys(result.metafile.inputs)) {
    const full = path.resolve(root, file);
    inputs[full] = stampOf(full);
  }
  const code = result.outputFiles.find((f) => f.path.endsWith('.mjs'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.map'));
  writeFileSync(temp, code.contents);
  writeFileSync(`${temp}.map`, map.contents);
  try {
    renameSync(`${temp}.map`, `${out}.map`);
    renameSync(temp, out);
    writeFileSync(stampFile, JSON.stringify(inputs));
    return out;
  } catch {
    // Windows refuses to replace a file another process has open: use this one, once.
    return temp;
  }
}

const file = upToDate() ? out : await bundle();
// The command reads its arguments from process.argv, as it would if started directly.
process.argv = [process.argv[0], entry, ...args];
process.setSourceMapsEnabled(true);
try {
  await import(pathToFileURL(file).href);
} finally {
  if (file !== out) for (const f of [file, `${file}.map`]) rmSync(f, { force: true });
}
