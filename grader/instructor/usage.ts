// What the instructor commands share in talking to the user: parsing their options, naming a
// lab, usage errors and paths.
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { findLab, labDirs } from '../labs.js';

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

/**
 * Parses a command's options (declare `help: { type: 'boolean', short: 'h' }` among them). A
 * malformed command line is a usage error; --help prints the usage and exits 0.
 */
export function parseOptions<T extends ParseArgsConfig>(usage: string, config: T): ReturnType<typeof parseArgs<T>>['values'] {
  let values;
  try {
    values = parseArgs(config).values;
  } catch (error) {
    usageError(usage, (error as Error).message);
  }
  if ((values as { help?: boolean }).help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return values;
}

/** The folder of the lab the user named with --lab, or a usage error that lists the labs. */
export function labOption(usage: string, root: string, name: string | undefined): string {
  const labs = labDirs(root).join(', ');
  if (!name) usageError(usage, `which lab? --lab N; the labs are ${labs}`);
  return findLab(root, name) ?? usageError(usage, `there is no lab "${name}"; the labs are ${labs}`);
}
