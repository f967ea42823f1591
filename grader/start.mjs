// Starts one of the kit's commands: `node grader/start.mjs grader/cli.ts 1 --solution` runs
// grader/cli.ts with the arguments after it, as `node --import tsx grader/cli.ts ...` would.
//
// Why not tsx: see bundle.mjs. The command and the kit's modules it imports are bundled once
// with esbuild into one JavaScript file in .switchboard/start/ (remade when one of its sources
// changes), and the packages stay outside it, loaded by Node without any hook. What the command
// imports later by path (each lab's lab.ts) goes through importTypeScript(), in bundle.mjs.
// Measured on lab 1's first phase: 3.8 s of CPU with tsx alone, 2.4 s with tsx registered after
// vitest, 1.0 s with no hook and vitest's compiled modules kept on disk (engine.ts).
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundled, removeBundle } from './bundle.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [given, ...args] = process.argv.slice(2);
if (!given) {
  console.error('usage: node grader/start.mjs FILE.ts [ARGS...]');
  process.exit(2);
}
const entry = path.resolve(root, given);
const bundle = await bundled(root, entry, { folder: 'start' });
// The command reads its arguments from process.argv, as it would if started directly.
process.argv = [process.argv[0], entry, ...args];
process.setSourceMapsEnabled(true);
try {
  await import(pathToFileURL(bundle.file).href);
} finally {
  removeBundle(bundle);
}
