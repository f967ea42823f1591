// Reading `strace -f -yy -x -s N` output: the system calls a server made, in the order they
// started and ended, each with the file or socket it touched and the bytes it wrote. The hidden
// phase 5.7 checks spec/05-persistence.md section 6 on it: `kill -9` cannot tell a write from a
// sync, but the order of these calls can.
import path from 'node:path';
import { straceInstalled } from '../../../grader/harness/attempts.js';

export interface Call {
  /** Its place in the trace: where it started and where it returned (the same line unless another thread ran between). */
  start: number;
  end: number;
  pid: number;
  name: string;
  args: string;
  result: string;
}

/** The system calls the phase traces: every way to write, sync, rename, remove or cut a file. */
export const traced = 'write,writev,pwrite64,pwritev,pwritev2,sendto,sendmsg,fsync,fdatasync,sync_file_range,rename,renameat,renameat2,unlink,unlinkat,ftruncate,truncate,openat,open';

export async function straceCommand(file: string): Promise<string[] | undefined> {
  if (!(await straceInstalled())) return undefined;
  return ['strace', '-f', '-qq', '-yy', '-x', '-s', '2000000', '-e', `trace=${traced}`, '-o', file];
}

export function parseTrace(text: string): Call[] {
  const calls: Call[] = [];
  const pending = new Map<number, Call>();
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const resumed = /^(\d+)\s+<\.\.\. (\w+) resumed>(.*)$/.exec(line);
    if (resumed) {
      const call = pending.get(Number(resumed[1]));
      if (!call) return;
      pending.delete(call.pid);
      call.end = i;
      const ended = returned(resumed[3]!);
      if (!ended) return;
      call.args += ended.args;
      call.result = ended.result;
      calls.push(call);
      return;
    }
    const started = /^(\d+)\s+(\w+)\((.*)$/.exec(line);
    if (!started) return;
    const call: Call = { start: i, end: i, pid: Number(started[1]), name: started[2]!, args: started[3]!, result: '' };
    if (call.args.endsWith('<unfinished ...>')) {
      call.args = call.args.slice(0, -'<unfinished ...>'.length).trimEnd();
      pending.set(call.pid, call);
      return;
    }
    const ended = returned(call.args);
    if (!ended) return;
    call.args = ended.args;
    call.result = ended.result;
    calls.push(call);
  });
  return calls.sort((a, b) => a.start - b.start);
}

/** Splits "ARGS)   = RESULT" (strace pads short lines before the "="); undefined if the call never returned. */
function returned(text: string): { args: string; result: string } | undefined {
  const match = /^(.*)\)\s+=\s+(.*)$/s.exec(text);
  return match ? { args: match[1]!.trimEnd(), result: match[2]!.trim() } : undefined;
}

/** The C string literal starting at `at` in `text` (strace's escapes); returns its bytes and where it ends. */
export function cString(text: string, at: number): { bytes: Buffer; end: number } {
  if (text[at] !== '"') throw new Error(`no string at ${at}: ${text.slice(at, at + 20)}`);
  const out: number[] = [];
  let i = at + 1;
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, a: 7, b: 8, '"': 34, '\\': 92, "'": 39 };
  while (i < text.length && text[i] !== '"') {
    const c = text[i]!;
    if (c !== '\\') {
      for (const byte of Buffer.from(c, 'utf8')) out.push(byte);
      i++;
      continue;
    }
    const next = text[i + 1]!;
    if (next === 'x') {
      out.push(Number.parseInt(text.slice(i + 2, i + 4), 16));
      i += 4;
    } else if (/[0-7]/.test(next)) {
      const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1))![0];
      out.push(Number.parseInt(octal, 8));
      i += 1 + octal.length;
    } else {
      out.push(simple[next] ?? next.charCodeAt(0));
      i += 2;
    }
  }
  return { bytes: Buffer.from(out), end: i + 1 };
}

/** The file or socket of a call's first argument, as -yy shows it: "12</path/to/log>" gives "/path/to/log". */
export function target(call: Call): string {
  const match = /^-?\d+<(.*?)>(?:,|\s*$)/.exec(call.args);
  return match ? match[1]! : '';
}

/** The bytes a write-like call wrote (write, pwrite64, sendto, writev, pwritev, sendmsg). */
export function written(call: Call): Buffer {
  const ok = Number.parseInt(call.result, 10);
  if (!(ok >= 0)) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for (let at = call.args.indexOf('"'); at >= 0; ) {
    const { bytes, end } = cString(call.args, at);
    parts.push(bytes);
    at = call.args.indexOf('iov_base="', end);
    if (at >= 0) at += 'iov_base='.length;
    if (!['writev', 'pwritev', 'pwritev2', 'sendmsg'].includes(call.name)) break;
  }
  // A short write wrote only its first `ok` bytes.
  return Buffer.concat(parts).subarray(0, ok);
}

/** The path strings a rename, unlink, truncate or open names (absolute, as the program gave them or relative to its cwd). */
export function paths(call: Call, cwd: string): string[] {
  const out: string[] = [];
  for (let at = call.args.indexOf('"'); at >= 0; at = call.args.indexOf('"', at)) {
    const { bytes, end } = cString(call.args, at);
    const p = bytes.toString('utf8');
    out.push(path.isAbsolute(p) ? p : path.join(dirOf(call) ?? cwd, p));
    at = end;
  }
  return out;
}

/** For *at calls: the directory of the first argument, as -yy shows it ("AT_FDCWD</work>"). */
function dirOf(call: Call): string | undefined {
  const match = /^(?:AT_FDCWD|\d+)<(.*?)>/.exec(call.args);
  return match?.[1];
}

export const writes = new Set(['write', 'writev', 'pwrite64', 'pwritev', 'pwritev2', 'sendto', 'sendmsg']);
export const syncs = new Set(['fsync', 'fdatasync']);

