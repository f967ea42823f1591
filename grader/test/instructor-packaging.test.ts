// The packages are built from what is committed. In a committed copy of the kit: a clean tree
// packs, a filled-in starter or a stray file in it is refused with the list of files (unless
// --from-working-tree), a change outside what the package holds does not matter, and a lab's
// Gradescope package holds that lab's hidden tests and nothing of any other lab or of the
// instructor tools but what run_autograder runs. A lab-1-only export says lab 2 is not
// released yet, and its --help offers nothing that does nothing there.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readZip } from '../instructor/zip.js';
import { kitCopy, removeDir, runInstructor, tempDir } from './fixtures/instructor/submissions.js';
import { kitArgs, ms } from './support.js';

const scratch = tempDir('packaging');
let kit: string;

const gradescope = (lab: string, out: string, extra: string[] = []) => runInstructor('gradescope', ['--lab', lab, '--out', out, ...extra], { kit });
const exportTo = (out: string, extra: string[] = []) => runInstructor('export', ['--out', out, ...extra], { kit });
const git = (...args: string[]) => execa('git', ['-C', kit, ...args]);

beforeAll(() => {
  kit = kitCopy(path.join(scratch, 'kit'));
}, ms(60_000));

afterAll(() => removeDir(scratch));

describe('a package is built from HEAD', () => {
  test("lab 1's Gradescope package: lab 1's tests, hidden ones included, and only what run_autograder needs", async () => {
    const zip = path.join(scratch, 'lab1.zip');
    const made = await gradescope('1', zip);
    expect(made.exitCode, String(made.stderr)).toBe(0);
    expect(String(made.stdout)).toMatch(/^built from HEAD \(commit [0-9a-f]{7,} of \d{4}-\d\d-\d\d \d\d:\d\d\)$/m);
    const names = Object.keys(readZip(readFileSync(zip)));
    expect(names).toContain('labs/01-echo/hidden/lab.ts');
    expect(names).toContain('labs/01-echo/tests/1.1-echo.test.ts');
    expect(names).toContain('starter/01-echo/server.ts');
    expect(names.filter((n) => n.startsWith('labs/') && !n.startsWith('labs/01-echo/'))).toEqual([]);
    expect(names.filter((n) => n.startsWith('starter/') && !n.startsWith('starter/01-echo/'))).toEqual([]);
    expect(names.filter((n) => /^(solutions|spec|bench|\.github|\.ci)\//.test(n) || n.startsWith('grader/test/'))).toEqual([]);
    // Of the instructor tooling, run_autograder's autograder.ts and what it imports; no templates, no other tool.
    const tools = names.filter((n) => n.startsWith('grader/instructor/'));
    expect(tools).toContain('grader/instructor/autograder.ts');
    expect(tools.filter((n) => !['autograder', 'check', 'child', 'submissions', 'workspace'].includes(path.basename(n, '.ts')))).toEqual([]);
  });

  test('every lab with hidden tests gets a package with its own hidden tests and no other lab’s', async () => {
    const labs = (await git('ls-files', 'labs/*/hidden/lab.ts')).stdout.split('\n').filter(Boolean).map((f) => f.split('/')[1]!);
    expect(labs.length).toBeGreaterThan(1);
    for (const dir of labs) {
      const zip = path.join(scratch, `${dir}.zip`);
      const made = await gradescope(dir, zip);
      expect(made.exitCode, String(made.stderr)).toBe(0);
      const hidden = Object.keys(readZip(readFileSync(zip))).filter((n) => n.includes('/hidden/'));
      expect(hidden.length, dir).toBeGreaterThan(1);
      expect(hidden.filter((n) => !n.startsWith(`labs/${dir}/hidden/`)), dir).toEqual([]);
    }
  }, ms(120_000));

  test('a filled-in starter and a stray file are refused, with the list; --from-working-tree packs them', async () => {
    const server = path.join(kit, 'starter', '01-echo', 'server.ts');
    const committed = readFileSync(server, 'utf8');
    writeFileSync(server, readFileSync(path.join(kit, 'solutions', '01-echo', 'server.ts')));
    writeFileSync(path.join(kit, 'starter', '01-echo', 'notes.txt'), 'tried it\n');
    try {
      const zip = path.join(scratch, 'refused.zip');
      const refused = await gradescope('1', zip);
      expect(refused.exitCode).toBe(1);
      expect(String(refused.stderr)).toMatch(/^gradescope: refused: the package is built from what is committed, HEAD \(commit [0-9a-f]+ of [\d: -]+\), and 2 files it would hold differ from it:$/m);
      expect(String(refused.stderr)).toMatch(/^ {2}modified {3}starter\/01-echo\/server\.ts$/m);
      expect(String(refused.stderr)).toMatch(/^ {2}untracked {2}starter\/01-echo\/notes\.txt$/m);
      expect(String(refused.stderr)).toContain('--from-working-tree');
      expect(existsSync(zip)).toBe(false);

      const out = path.join(scratch, 'refused-export');
      const exported = await exportTo(out, ['--labs', '1']);
      expect(exported.exitCode).toBe(1);
      expect(String(exported.stderr)).toMatch(/^export: refused: .*\n {2}modified {3}starter\/01-echo\/server\.ts\n {2}untracked {2}starter\/01-echo\/notes\.txt\n/m);
      expect(existsSync(path.join(out, 'starter'))).toBe(false);

      const anyway = await gradescope('1', zip, ['--from-working-tree']);
      expect(anyway.exitCode, String(anyway.stderr)).toBe(0);
      expect(String(anyway.stdout)).toMatch(/^built from the working tree \(--from-working-tree\), not a commit$/m);
      const files = readZip(readFileSync(zip));
      expect(Buffer.from(files['starter/01-echo/server.ts']!).toString('utf8')).not.toContain('NotImplemented');
      expect(Object.keys(files)).toContain('starter/01-echo/notes.txt');
    } finally {
      writeFileSync(server, committed);
      rmSync(path.join(kit, 'starter', '01-echo', 'notes.txt'));
    }
  }, ms(60_000));

  test('a change the package would not hold does not stop it, and what is packed is what HEAD has', async () => {
    const solution = path.join(kit, 'solutions', '01-echo', 'server.ts');
    const otherHidden = path.join(kit, 'labs', '02-chat', 'hidden', 'lab.ts');
    const stray = path.join(kit, 'starter', '02-chat', 'notes.txt');
    const before = [readFileSync(solution), readFileSync(otherHidden)] as const;
    writeFileSync(solution, '// an instructor trying something\n');
    writeFileSync(otherHidden, '// being written\n');
    writeFileSync(stray, 'lab 2 notes\n');
    try {
      const zip = path.join(scratch, 'despite.zip');
      const made = await gradescope('1', zip);
      expect(made.exitCode, String(made.stderr)).toBe(0);
      const files = readZip(readFileSync(zip));
      for (const file of ['starter/01-echo/server.ts', 'labs/01-echo/hidden/lab.ts']) {
        const head = await execa('git', ['-C', kit, 'show', `HEAD:${file}`], { encoding: 'buffer', stripFinalNewline: false });
        expect(Buffer.from(files[file]!).equals(Buffer.from(head.stdout)), file).toBe(true);
      }
    } finally {
      writeFileSync(solution, before[0]);
      writeFileSync(otherHidden, before[1]);
      rmSync(stray);
    }
  }, ms(60_000));

  test('a folder that is not a git checkout is refused, and told about --from-working-tree', async () => {
    const moved = path.join(scratch, 'no-git');
    // The same kit without its .git: a downloaded archive.
    await execa(process.execPath, ['-e', `require('fs').cpSync(${JSON.stringify(kit)}, ${JSON.stringify(moved)}, { recursive: true, filter: (f) => !/[\\\\/](\\.git|node_modules)$/.test(f) })`]);
    await execa(process.execPath, ['-e', `require('fs').symlinkSync(${JSON.stringify(path.join(kit, 'node_modules'))}, ${JSON.stringify(path.join(moved, 'node_modules'))}, 'junction')`]);
    const refused = await runInstructor('gradescope', ['--lab', '1', '--out', path.join(scratch, 'no-git.zip')], { kit: moved });
    expect(refused.exitCode).toBe(1);
    expect(String(refused.stderr)).toMatch(/is not a git checkout .* pass --from-working-tree/);
  }, ms(60_000));
});

describe('a lab-1-only student repository', () => {
  let out: string;
  const cli = (args: string[]) => execa(process.execPath, [...kitArgs(path.join(out, 'grader', 'cli.ts'), out), ...args], { cwd: out, env: { NO_COLOR: '1', INIT_CWD: out }, reject: false });

  beforeAll(async () => {
    out = path.join(scratch, 'lab1-only');
    const made = await exportTo(out, ['--labs', '1']);
    expect(made.exitCode, String(made.stderr)).toBe(0);
    expect(String(made.stdout)).toMatch(/^built from HEAD \(commit /m);
    expect(String(made.stdout)).toMatch(/^not released yet \(named so; of them, only the test helpers an exported lab uses are included\): 02-chat, 03-protocol/m);
    rmSync(path.join(out, 'node_modules'), { force: true, recursive: true });
    await execa(process.execPath, ['-e', `require('fs').symlinkSync(${JSON.stringify(path.join(kit, 'node_modules'))}, ${JSON.stringify(path.join(out, 'node_modules'))}, 'junction')`]);
  }, ms(60_000));

  test('names the labs still to come, and holds nothing of them', async () => {
    const release = JSON.parse(readFileSync(path.join(out, 'labs', 'released.json'), 'utf8')) as { released: string[]; notYet: string[] };
    expect(release.released).toEqual(['01-echo']);
    expect(release.notYet).toContain('02-chat');
    expect(existsSync(path.join(out, 'starter', '02-chat'))).toBe(false);
    expect(existsSync(path.join(out, 'labs', '02-chat'))).toBe(false);
    expect(readFileSync(path.join(out, '.gitattributes'), 'utf8')).toMatch(/eol=lf/);
  });

  test('a later lab alone brings the earlier lab\'s test helpers its tests use, and nothing else of that lab', async () => {
    const five = path.join(scratch, 'lab5-only');
    // Its starter holds lab 3's finished codec, and lab 3 is not released with it: that needs saying.
    const made = await exportTo(five, ['--labs', '5', '--include-earlier-solutions']);
    expect(made.exitCode, String(made.stderr)).toBe(0);
    // Lab 5's tests grade with lab 3's codec.
    expect(existsSync(path.join(five, 'labs', '03-protocol', 'tests', 'wire.ts'))).toBe(true);
    for (const absent of ['labs/03-protocol/lab.ts', 'labs/03-protocol/README.md', 'labs/03-protocol/hidden', 'starter/03-protocol', 'spec/03-protocol.md']) {
      expect(existsSync(path.join(five, absent)), absent).toBe(false);
    }
  }, ms(60_000));

  test('npm run lab 2 says the lab is not released yet; an unknown lab is still unknown', async () => {
    const two = await cli(['2']);
    expect(two.exitCode).toBe(2);
    expect(String(two.stderr)).toMatch(/^lab 2 \(02-chat\) is not released yet: your instructor adds it to this repository when it is$/m);
    const chat = await cli(['chat']);
    expect(String(chat.stderr)).toMatch(/lab 2 \(02-chat\) is not released yet/);
    const unknown = await cli(['42']);
    expect(String(unknown.stderr)).toMatch(/there is no lab "42"/);
  }, ms(60_000));

  test('--help lists no option that does nothing there', async () => {
    const help = await cli(['--help']);
    expect(help.exitCode).toBe(0);
    expect(String(help.stdout)).toMatch(/--impl DIR/);
    expect(String(help.stdout)).not.toMatch(/--solution|--hidden/);
    // The kit itself still offers them.
    const kitHelp = await execa(process.execPath, [...kitArgs(path.join(kit, 'grader', 'cli.ts'), kit), '--help'], { cwd: kit, reject: false });
    expect(String(kitHelp.stdout)).toMatch(/--solution[\s\S]*--hidden/);
  }, ms(60_000));
});
