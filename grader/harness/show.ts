// How the grader shows data to a student: text with its invisible characters made visible,
// coloured diffs of text, and hex diffs of bytes that point at the first differing byte.
import { Chalk } from 'chalk';
import { diffChars, diffLines } from 'diff';

const color = process.env.SWITCHBOARD_COLOR === '1';
export const paint = new Chalk({ level: color ? 1 : 0 });

/** "1 byte", "2 bytes". */
export function bytes(n: number): string {
  return `${n} byte${n === 1 ? '' : 's'}`;
}

/** A string as a quoted literal: `"hi\r\n"`, with control bytes as escapes. Long ones are cut. */
export function quote(text: string, max = 200): string {
  // C0 controls, DEL and the C1 controls (U+0080–U+009F, which some terminals obey too).
  const visible = text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
  const cut = visible.length > max ? `${visible.slice(0, max)}… (${text.length} characters in all)` : visible;
  return `"${cut.replace(/"/g, '\\"')}"`;
}

/** Expected against got, as `- expected` / `+ got` lines, with the differing characters highlighted. */
export function textDiff(expected: string, got: string): string {
  if (!expected.includes('\n') && !got.includes('\n')) {
    let minus = '';
    let plus = '';
    for (const part of diffChars(expected, got)) {
      const shown = quote(part.value, 10_000).slice(1, -1);
      if (part.added) plus += paint.bgGreen.black(shown);
      else if (part.removed) minus += paint.bgRed.black(shown);
      else {
        minus += shown;
        plus += shown;
      }
    }
    return `${paint.red('- expected')} ${minus}\n${paint.green('+ got     ')} ${plus}`;
  }
  const lines: string[] = [paint.red('- expected') + '  ' + paint.green('+ got')];
  for (const part of diffLines(expected, got)) {
    for (const line of part.value.replace(/\n$/, '').split('\n')) {
      if (part.added) lines.push(paint.green(`+ ${line}`));
      else if (part.removed) lines.push(paint.red(`- ${line}`));
      else lines.push(`  ${line}`);
    }
  }
  return lines.join('\n');
}

function hexRow(bytes: Buffer, start: number, width: number): string {
  const row = bytes.subarray(start, start + width);
  const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return `${start.toString(16).padStart(8, '0')}  ${hex.padEnd(width * 3 - 1)}  |${ascii}|`;
}

/** A hex dump of up to `rows` rows of 16 bytes from `start`. */
export function hexDump(bytes: Buffer, start = 0, rows = 4): string {
  const out: string[] = [];
  for (let at = start; at < bytes.length && out.length < rows; at += 16) out.push(hexRow(bytes, at, 16));
  if (out.length === 0) out.push(start === 0 ? '(no bytes)' : `(no bytes from offset ${start})`);
  return out.join('\n');
}

/** Where two byte strings first differ, or -1 if they are equal. */
export function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Expected against got, as hex dumps ending at the first differing byte, with a caret under it. */
export function hexDiff(expected: Buffer, got: Buffer): string {
  const at = firstDifference(expected, got);
  if (at < 0) return '(the bytes are equal)';
  const row = at - (at % 16);
  const from = Math.max(0, row - 16);
  const rows = (row - from) / 16 + 1;
  const caret = ' '.repeat(10 + (at % 16) * 3) + '^^';
  const describe = (b: Buffer) => (at < b.length ? `0x${b[at]!.toString(16).padStart(2, '0')}` : 'the end of the data');
  return [
    `first difference at byte ${at}: expected ${describe(expected)}, got ${describe(got)} ` +
      `(expected ${bytes(expected.length)} in all, got ${got.length})`,
    paint.red('- expected'),
    hexDump(expected, from, rows),
    caret,
    paint.green('+ got'),
    hexDump(got, from, rows),
    caret,
  ].join('\n');
}
