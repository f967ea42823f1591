// Recognising a submission. A student hands in either a copy of the whole student repository
// (its lab's programs are in starter/NN-name/) or a copy of that one folder (the programs sit at
// the top). Archives often add one wrapping folder ("switchboard-main/"), so a folder holding
// nothing but one folder is looked into once. Anything else is named for what it is not.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { LabSpec } from '../lab.js';

export type Layout = 'repository' | 'lab folder' | 'neither';

export interface Located {
  layout: Layout;
  /** The folder holding the lab's programs; undefined when the layout is 'neither'. */
  folder?: string;
  /** Program files the lab declares that the folder lacks: "client.ts". */
  missing: string[];
  /** For 'neither': what was expected and what was found. */
  reason?: string;
}

/** Files and folders that are never part of a submission's code. */
export const ignoredNames = new Set(['node_modules', '.git', '.switchboard', '__MACOSX', '.DS_Store']);

function isDir(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

function visibleEntries(dir: string): string[] {
  return readdirSync(dir).filter((name) => !ignoredNames.has(name) && !name.startsWith('.'));
}

function programFiles(lab: LabSpec): string[] {
  return Object.values(lab.programs).map((p) => p.file);
}

function locateHere(dir: string, lab: LabSpec): Located | undefined {
  const files = programFiles(lab);
  const inRepository = path.join(dir, 'starter', lab.dir);
  if (isDir(inRepository)) {
    return { layout: 'repository', folder: inRepository, missing: files.filter((f) => !existsSync(path.join(inRepository, f))) };
  }
  if (files.some((f) => existsSync(path.join(dir, f)))) {
    return { layout: 'lab folder', folder: dir, missing: files.filter((f) => !existsSync(path.join(dir, f))) };
  }
  return undefined;
}

/** Where the lab's programs are in the submission folder `dir`, and which of them are missing. */
export function locate(dir: string, lab: LabSpec): Located {
  const here = locateHere(dir, lab);
  if (here) return here;
  const entries = visibleEntries(dir);
  const only = entries.length === 1 ? path.join(dir, entries[0]!) : undefined;
  if (only && isDir(only)) {
    const inside = locateHere(only, lab);
    if (inside) return inside;
  }
  const files = programFiles(lab);
  const found = entries.length ? `it holds ${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', ...' : ''}` : 'it is empty';
  return {
    layout: 'neither',
    missing: files,
    reason: `neither a student repository (no starter/${lab.dir}/) nor a copy of starter/${lab.dir}/ (no ${files.join(' or ')}): ${found}`,
  };
}

/** The submission folders in `dir` (one per student), sorted by name; files beside them are returned apart. */
export function listSubmissions(dir: string): { folders: string[]; others: string[] } {
  const folders: string[] = [];
  const others: string[] = [];
  for (const name of readdirSync(dir)) {
    if (ignoredNames.has(name) || name.startsWith('.')) continue;
    (isDir(path.join(dir, name)) ? folders : others).push(name);
  }
  const byName = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });
  return { folders: folders.sort(byName), others: others.sort(byName) };
}
