// `npm run trace -- FILE.jsonl [--out FILE.html]`: draws a recorded trace again, as the grader
// does for a failed test (it writes trace.jsonl and trace.html beside the test's logs).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderHtml } from './render.js';

const usage = `usage: npm run trace -- FILE.jsonl [--out FILE.html]

  FILE.jsonl      a test's trace, as the grader writes it beside the test's logs (trace.jsonl)
  --out FILE      where to write the page (default: FILE.html beside FILE.jsonl)`;

function main(): number {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${usage}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    process.stderr.write(`${parsed.positionals.length === 0 ? 'which trace?' : 'one trace at a time'}\n\n${usage}\n`);
    return 2;
  }
  const cwd = process.env.INIT_CWD ?? process.cwd();
  const file = path.resolve(cwd, parsed.positionals[0]!);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    process.stderr.write(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`);
    return 2;
  }
  const first = text.slice(0, text.indexOf('\n'));
  try {
    if ((JSON.parse(first) as { trace?: number }).trace !== 1) throw new Error('no trace header');
  } catch {
    process.stderr.write(`${file} is not a trace: its first line should be the trace's header ({"trace":1,...})\n`);
    return 2;
  }
  const out = parsed.values.out ? path.resolve(cwd, parsed.values.out) : file.replace(/\.jsonl$/, '') + '.html';
  writeFileSync(out, renderHtml(text));
  process.stdout.write(`${path.relative(cwd, out) || out}\n`);
  return 0;
}

process.exit(main());
