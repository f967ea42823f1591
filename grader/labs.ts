// Finding labs: every labs/NN-name/ folder with a lab.ts registry.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LabSpec } from './lab.js';

export function labDirs(root: string): string[] {
  const labs = path.join(root, 'labs');
  if (!existsSync(labs)) return [];
  return readdirSync(labs)
    .filter((name) => /^\d\d-/.test(name) && existsSync(path.join(labs, name, 'lab.ts')))
    .sort();
}

/** A lab's registry; with `hidden`, the one in hidden/lab.ts that adds the instructor-only phases. */
export async function loadLab(root: string, dir: string, options: { hidden?: boolean } = {}): Promise<LabSpec> {
  const hiddenFile = path.join(root, 'labs', dir, 'hidden', 'lab.ts');
  const file = options.hidden && existsSync(hiddenFile) ? hiddenFile : path.join(root, 'labs', dir, 'lab.ts');
  const module = (await import(pathToFileURL(file).href)) as { default: LabSpec };
  return module.default;
}

/** Resolves "4", "04", "routing" or "04-routing" to a lab folder; undefined if none matches. */
export function findLab(root: string, name: string): string | undefined {
  const dirs = labDirs(root);
  const wanted = name.toLowerCase();
  return dirs.find((dir) => {
    const [number, ...rest] = dir.split('-');
    return dir === wanted || rest.join('-') === wanted || (/^\d+$/.test(wanted) && Number(number) === Number(wanted));
  });
}

/** The phase test files of a lab; `hidden` adds the instructor-only ones. */
export function testFiles(root: string, dir: string, hidden: boolean): string[] {
  const folders = ['tests', ...(hidden ? ['hidden'] : [])];
  return folders.flatMap((folder) => {
    const full = path.join(root, 'labs', dir, folder);
    if (!existsSync(full)) return [];
    return readdirSync(full)
      .filter((name) => name.endsWith('.test.ts'))
      .sort()
      .map((name) => path.join(full, name));
  });
}
