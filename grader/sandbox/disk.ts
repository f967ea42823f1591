// The total a confined program writes to its folders, watched while it runs: the file size limit
// bounds each file, this bounds them all (a program making many files). Checked twice a second,
// so a program can overshoot by what it writes in half a second, with each file still bounded.
import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Bytes under `dir`, symbolic links not followed; a file removed meanwhile counts nothing. */
export function folderBytes(dir: string, budget = 200_000): number {
  let total = 0;
  let seen = 0;
  const walk = (at: string) => {
    let names: string[];
    try {
      names = readdirSync(at);
    } catch {
      return;
    }
    for (const name of names) {
      if (++seen > budget) return;
      const file = path.join(at, name);
      try {
        const s = lstatSync(file);
        total += s.blocks !== undefined ? s.blocks * 512 : s.size;
        if (s.isDirectory()) walk(file);
      } catch {
        // Gone while we looked.
      }
    }
  };
  walk(dir);
  return total;
}

/** Calls `over` once when the folders hold more than `limit` bytes; returns the function that stops watching. */
export function watchDisk(dirs: string[], limit: number, over: () => void): () => void {
  if (dirs.length === 0) return () => undefined;
  const timer = setInterval(() => {
    if (dirs.reduce((sum, dir) => sum + folderBytes(dir), 0) > limit) {
      clearInterval(timer);
      over();
    }
  }, 500);
  timer.unref();
  return () => clearInterval(timer);
}
