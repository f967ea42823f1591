// Reading a crash out of a program's standard error: the error line, the first stack frame in
// the program's own files, and a hint for the mistakes students make most. A student reads
// "Error [ERR_STREAM_WRITE_AFTER_END]: write after end at server.ts:25:12" and a hint, not the
// last twelve lines of a stack trace that end in "Node.js v20.20.2".
//
// Node's uncaught exceptions and Python's tracebacks are recognised; any other program's
// output is left as it is (its last lines are shown anyway).
import path from 'node:path';

export interface Crash {
  /** The error line: "Error [ERR_STREAM_WRITE_AFTER_END]: write after end". */
  error: string;
  /** The first frame in the program's own files: "server.ts:25:12 (Socket.<anonymous>)". */
  where?: string;
  hint?: string;
  /** All of it in one sentence, for a report. */
  summary: string;
  /** Where the crash's report begins in the lines given (its source excerpt, or "Traceback"). */
  start: number;
}

const nodeFrame = /^\s+at (?:(.*?) \()?(.+?):(\d+):(\d+)\)?$/;
// "Error: ...", "TypeError: ...", "Error [ERR_X]: ...", "NotImplemented: ...", "Uncaught Foo: ..."
const nodeErrorLine = /^(?:Uncaught )?[A-Za-z_$][\w$.]*(?: \[[A-Z0-9_]+\])?: /;

function isOwnFile(file: string): boolean {
  return !file.startsWith('node:') && !file.includes('node_modules') && !file.startsWith('internal/') && file !== '<anonymous>';
}

function shortPath(file: string, cwd: string): string {
  const plain = file.replace(/^file:\/\//, '');
  const relative = path.relative(cwd, plain);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : plain;
}

function nodeCrash(lines: string[], cwd: string): Omit<Crash, 'summary' | 'hint'> | undefined {
  // The last error line that a stack frame follows is the exception that ended the program.
  for (let i = lines.length - 2; i >= 0; i--) {
    if (!nodeErrorLine.test(lines[i]!) || !nodeFrame.test(lines[i + 1]!)) continue;
    let where: string | undefined;
    for (let j = i + 1; j < lines.length; j++) {
      const frame = nodeFrame.exec(lines[j]!);
      if (!frame) break;
      const [, fn, file, line, column] = frame;
      if (!isOwnFile(file!)) continue;
      where = `${shortPath(file!, cwd)}:${line}:${column}${fn ? ` (${fn})` : ''}`;
      break;
    }
    // Node prints the throwing line of source above the error: "file:25", the code, a caret.
    let start = i;
    if (start > 0 && /^\s*\^+\s*$/.test(lines[start - 1]!)) start--;
    if (start > 0 && lines[start - 1]!.startsWith(' ')) start--;
    if (start > 0 && /^\S+:\d+$/.test(lines[start - 1]!)) start--;
    return { error: lines[i]!.replace(/^Uncaught /, ''), where, start };
  }
  return undefined;
}

function pythonCrash(lines: string[], cwd: string): Omit<Crash, 'summary' | 'hint'> | undefined {
  const start = lines.lastIndexOf('Traceback (most recent call last):');
  if (start < 0) return undefined;
  let where: string | undefined;
  let error: string | undefined;
  for (let j = start + 1; j < lines.length; j++) {
    const frame = /^ {2}File "(.+)", line (\d+), in (.+)$/.exec(lines[j]!);
    if (frame) {
      // Python lists the innermost call last: keep the last frame in the program's own files.
      if (!/[\\/](?:site-packages|lib[\\/]python[\d.]+)[\\/]/.test(frame[1]!)) where = `${shortPath(frame[1]!, cwd)}:${frame[2]} (${frame[3]})`;
      continue;
    }
    if (!/^\s/.test(lines[j]!)) {
      error = lines[j]!;
      break;
    }
  }
  return error ? { error, where, start } : undefined;
}

function hintFor(error: string, all: string): string | undefined {
  if (/NotImplemented/.test(error)) return undefined;
  if (/ERR_STREAM_WRITE_AFTER_END|write after end/.test(error)) return 'it wrote to a socket after ending it; stop writing once you have called end(), or check socket.writable first';
  if (/ERR_STREAM_DESTROYED/.test(error)) return 'it wrote to a socket that was already closed; check socket.writable (or track the close) before writing';
  if (/EADDRINUSE|Address already in use/.test(error)) return 'another program already listens on that port; listen on the port the grader passes with --port, and only once';
  if (/Unhandled 'error' event/.test(all) || /Emitted 'error' event/.test(all)) {
    return "a socket or server emitted 'error' and nothing listened for it; give every socket an 'error' handler (socket.on('error', ...)): a peer that resets or vanishes is normal on a network";
  }
  if (/ECONNREFUSED|Connection refused/.test(error)) return 'nothing listened where it connected, and the program did not handle the failure; catch it and report it as the spec asks';
  if (/ECONNRESET|EPIPE|Broken pipe|Connection reset/.test(error)) return "the other side reset the connection and the program did not handle it; handle the socket's errors";
  return undefined;
}

/** The crash in these standard-error lines, if they end a program with an uncaught exception. */
export function crashOf(stderr: string[], cwd: string): Crash | undefined {
  const found = nodeCrash(stderr, cwd) ?? pythonCrash(stderr, cwd);
  if (!found) return undefined;
  const hint = hintFor(found.error, stderr.join('\n'));
  const summary = `${found.error}${found.where ? ` at ${found.where}` : ''}${hint ? ` (hint: ${hint})` : ''}`;
  return { ...found, hint, summary };
}
