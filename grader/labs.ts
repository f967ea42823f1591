// Finding labs: every labs/NN-name/ folder with a lab.ts registry.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { importTypeScript } from './bundle.mjs';
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
  const module = (await importTypeScript(root, file)) as { default: LabSpec };
  const lab = module.default;
  // The grader hands the phases out in this order and a phase waits for those it needs
  // (harness/needs.ts): a need that came later could wait forever.
  lab.phases.forEach((phase, i) => {
    const wrong = (phase.needs ?? []).filter((id) => !lab.phases.slice(0, i).some((p) => p.id === id));
    if (wrong.length > 0) throw new Error(`${path.relative(root, file)}: phase ${phase.id} needs ${wrong.join(', ')}, which is not a phase before it`);
  });
  return lab;
}

/** Whether "4", "04", "routing" or "04-routing" names the lab folder `dir`. */
export function namesLab(dir: string, name: string): boolean {
  const wanted = name.toLowerCase();
  const [number, ...rest] = dir.split('-');
  return dir === wanted || rest.join('-') === wanted || (/^\d+$/.test(wanted) && Number(number) === Number(wanted));
}

/** Resolves "4", "04", "routing" or "04-routing" to a lab folder; undefined if none matches. */
export function findLab(root: string, name: string): string | undefined {
  return labDirs(root).find((dir) => namesLab(dir, name));
}

/**
 * A student repository (made by `npm run export`) holds the labs released so far and names the
 * others in this file, so that asking for one of those says "not released yet".
 */
export const releaseFile = 'labs/released.json';

export interface Release {
  /** The lab folders this repository holds. */
  released: string[];
  /** The kit's other labs, still to come. */
  notYet: string[];
}

export function release(root: string): Release | undefined {
  try {
    return JSON.parse(readFileSync(path.join(root, releaseFile), 'utf8')) as Release;
  } catch {
    return undefined;
  }
}

/** For a lab that is not released yet, what to tell the student; undefined otherwise. */
export function notReleased(root: string, name: string): string | undefined {
  const dir = release(root)?.notYet.find((d) => namesLab(d, name));
  return dir && `lab ${Number(dir.slice(0, 2))} (${dir}) is not released yet: your instructor adds it to this repository when it is`;
}

/** A usage text without the lines of options that do nothing in a student repository (no solutions, no hidden tests there). */
export function forThisCopy(root: string, usage: string): string {
  if (!release(root)) return usage;
  return usage
    .split('\n')
    .filter((line) => !/^\s+--(solution|hidden)\b/.test(line))
    .join('\n');
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
