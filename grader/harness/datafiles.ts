// The files in a program's data folder belong to the program under test, and a program graded
// for someone else may put something else where the grader expects a file: a symbolic link to a
// hidden test (which the grader would read, and quote back in a failure), or to a file of the kit
// (which the grader would write, as root on Gradescope), a hard link, a FIFO that never opens.
// So the grader reads and writes those files only through these functions. Each opens the name
// itself, never what a link points to (O_NOFOLLOW), without blocking (O_NONBLOCK: a FIFO opens at
// once, or not at all), and goes on only with a regular file that has no other name. Anything
// else is a GradeFailure that says what was there. Only the last part of a path needs this: the
// folders are made by the grader (h.dataDir()) inside one that the program cannot write.
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { GradeFailure } from './wait.js';

// Windows has neither flag (0 there); confinement, and so this threat, is Linux-only.
const noFollow = (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** Opens a data file; the caller closes the descriptor. A missing file throws ENOENT as fs does. */
function openData(file: string, flags: number): number {
  let fd: number;
  try {
    fd = openSync(file, flags | noFollow, 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ELOOP: the name is a symbolic link; ENXIO: a FIFO with no reader, opened to write.
    if (code === 'ELOOP' || code === 'EMLINK') refuse(file, 'a symbolic link');
    if (code === 'ENXIO') refuse(file, 'a FIFO');
    throw error;
  }
  const stat = fstatSync(fd);
  if (stat.isFile() && stat.nlink <= 1) return fd;
  closeSync(fd);
  if (stat.isDirectory()) throw Object.assign(new Error(`EISDIR: ${file} is a folder`), { code: 'EISDIR' });
  refuse(file, stat.isFile() ? `a file with ${stat.nlink} names (hard links)` : stat.isFIFO() ? 'a FIFO' : 'not a regular file');
}

function refuse(file: string, what: string): never {
  throw new GradeFailure(
    `"${path.basename(file)}" in the program's data folder ${path.dirname(file)} is ${what}: a program keeps its data in regular files of its own, and the grader reads and writes nothing else there (spec/05-persistence.md section 3)`,
  );
}

/** The bytes of a data file. */
export function readDataFile(file: string): Buffer {
  const fd = openData(file, constants.O_RDONLY);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The bytes of a data file, or undefined if there is none. */
export function readDataFileIfAny(file: string): Buffer | undefined {
  try {
    return readDataFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes a data file whole (made if missing, emptied first if not). */
export function writeDataFile(file: string, bytes: Buffer | string): void {
  const fd = openData(file, constants.O_WRONLY | constants.O_CREAT);
  try {
    // Emptied only now, after the checks: O_TRUNC would act before them.
    ftruncateSync(fd, 0);
    writeFileSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

/** Appends bytes to a data file. */
export function appendDataFile(file: string, bytes: Buffer | string): void {
  const fd = openData(file, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND);
  try {
    writeFileSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

/** Cuts a data file to `length` bytes. */
export function truncateDataFile(file: string, length: number): void {
  const fd = openData(file, constants.O_RDWR);
  try {
    const size = fstatSync(fd).size;
    if (length < 0 || length > size) throw new Error(`cannot truncate ${file} to ${length} bytes: it has ${size}`);
    ftruncateSync(fd, length);
  } finally {
    closeSync(fd);
  }
}

/** XORs the byte at `offset` of a data file with `mask`. */
export function flipDataByte(file: string, offset: number, mask: number): void {
  const fd = openData(file, constants.O_RDWR);
  try {
    const byte = Buffer.alloc(1);
    if (readSync(fd, byte, 0, 1, offset) !== 1) throw new Error(`${file} has no byte at offset ${offset}`);
    byte[0] = byte[0]! ^ mask;
    writeSync(fd, byte, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}
