// `npm run bench`: the kit's measurements. Each bench/NN-*.ts file exports a default function
// that measures one thing and returns the lines to print. Figures that compare two things are
// measured side by side in the same run and reported as ratios: the machines are shared and noisy.
// `npm run bench -- 02` runs only the files whose names start with 02.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type Bench = () => Promise<string[]>;

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((name) => /^\d\d-.*\.ts$/.test(name))
  .filter((name) => only.length === 0 || only.some((prefix) => name.startsWith(prefix)))
  .sort();

for (const file of files) {
  const bench = (await import(pathToFileURL(path.join(here, file)).href)) as { default: Bench; title?: string };
  process.stdout.write(`\n== ${file.replace(/\.ts$/, '')}${bench.title ? `: ${bench.title}` : ''}\n`);
  const started = Date.now();
  try {
    for (const line of await bench.default()) process.stdout.write(`${line}\n`);
  } catch (error) {
    process.stdout.write(`failed: ${(error as Error).stack ?? error}\n`);
    process.exitCode = 1;
  }
  process.stdout.write(`(${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}
