// What the instructor commands share in talking to the user: usage errors and paths.
import path from 'node:path';

/** A usage error: the message, then the usage, on standard error; exit 2. */
export function usageError(usage: string, message: string): never {
  process.stderr.write(`${message}\n\n${usage}\n`);
  process.exit(2);
}

/** A path as the user can read it: relative to where they are, unless it is elsewhere. */
export function shownPath(cwd: string, file: string): string {
  const relative = path.relative(cwd, file);
  return relative && !relative.startsWith('..') ? relative : file;
}
