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

export async function loadLab(root: string, dir: string): Promise<LabSpec> {
  const module = (await import(pathToFileURL(path.join(root, 'labs', dir, 'lab.ts')).href)) as { default: LabSpec };
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
