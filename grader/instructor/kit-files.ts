// Listing the kit's files for the packages built from it (the Gradescope zip, the student
// export): paths relative to the kit's root, with forward slashes, never inside node_modules,
// .git or the grader's working folder.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ignoredNames } from './submissions.js';

/** Every file under `root/rel` (a file or a folder) whose relative path `keep` accepts, sorted. */
export function filesUnder(root: string, rel: string, keep: (file: string) => boolean = () => true): string[] {
  const full = path.join(root, rel);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return keep(rel) ? [rel] : [];
  const found: string[] = [];
  for (const name of readdirSync(full).sort()) {
    if (ignoredNames.has(name)) continue;
    found.push(...filesUnder(root, `${rel}/${name}`, keep));
  }
  return found;
}
