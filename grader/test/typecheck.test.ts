// The grader's type-check keeps its answers by content: a copy of a program elsewhere gets the
// same warnings, and a change to any file the compiler read (not only the entries) checks again.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { typeErrors } from '../typecheck.js';
import { root } from './support.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-typecheck-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a copy gets the same answer, and a change to an imported file is seen', async () => {
  const first = path.join(dir, 'first');
  mkdirSync(first);
  // A name of its own, so that no earlier run of this test has left an answer for it.
  const unique = `${process.pid}_${Date.now()}`;
  writeFileSync(path.join(first, 'server.ts'), `import { port } from './util.js';\nconsole.log(port, '${unique}');\n`);
  writeFileSync(path.join(first, 'util.ts'), "export const port: number = 'seven';\n");
  const expected = [expect.stringMatching(/^util\.ts:1:14: TS2322 Type 'string' is not assignable to type 'number'/)];
  expect(await typeErrors(root, [path.join(first, 'server.ts')], first)).toEqual(expected);

  const copy = path.join(dir, 'copy');
  cpSync(first, copy, { recursive: true });
  expect(await typeErrors(root, [path.join(copy, 'server.ts')], copy)).toEqual(expected);

  // The entry is unchanged; the file it imports is fixed.
  writeFileSync(path.join(copy, 'util.ts'), 'export const port: number = 7;\n');
  expect(await typeErrors(root, [path.join(copy, 'server.ts')], copy)).toEqual([]);
  // And the first folder, still wrong, still says so.
  expect(await typeErrors(root, [path.join(first, 'server.ts')], first)).toEqual(expected);
});
