// `npm run export`: the student repository. Exported once into a temporary folder, it must hold
// what students need and nothing from solutions/ or any hidden/ folder (no such file, no copy of
// one under another name, no distinctive line of one), install with `npm ci`, and grade lab 1's
// starter at zero; its GitHub Classroom report script must turn that run into per-phase points.
// A lab whose starter holds an earlier lab's finished code says so, and is refused while that lab
// is open or not released with it.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { filesUnder } from '../instructor/kit-files.js';
import { carriedLabs, earlierSolutionsProblems } from '../instructor/carries.js';
import { labDirs, loadLab } from '../labs.js';
import { kitCopy, removeDir, runInstructor, tempDir } from './fixtures/instructor/submissions.js';
import { ms } from './support.js';

const scratch = tempDir('export');
const out = path.join(scratch, 'student');
let exported: string[];
let made: { stdout: unknown; stderr: unknown; exitCode?: number };
/** Packages are built from what is committed: a committed copy of the kit as it is now. */
let root: string;

const secret = (file: string) => file.startsWith('solutions/') || /^labs\/[^/]+\/hidden\//.test(file);
const hash = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const lines = (file: string) => readFileSync(file, 'utf8').split('\n').map((l) => l.trim());

function npm(args: string[], timeout: number) {
  return execa('npm', args, { cwd: out, env: { NO_COLOR: '1', INIT_CWD: out }, reject: false, timeout, shell: process.platform === 'win32' });
}

beforeAll(async () => {
  root = kitCopy(path.join(scratch, 'kit'));
  made = await runInstructor('export', ['--out', out], { kit: root });
  expect(made.exitCode, String(made.stderr)).toBe(0);
  exported = filesUnder(out, '.').map((f) => f.replace(/^\.\//, ''));
}, ms(60_000));

afterAll(() => removeDir(scratch));

describe('npm run export', () => {
  test('holds the starters, public tests, handouts, spec, grader and package files, and a student README', () => {
    for (const dir of labDirs(root)) {
      expect(exported, dir).toContain(`labs/${dir}/lab.ts`);
      expect(exported.some((f) => f.startsWith(`labs/${dir}/tests/`)), `labs/${dir}/tests`).toBe(true);
    }
    for (const file of ['README.md', 'package.json', 'package-lock.json', 'tsconfig.json', 'grader/cli.ts', 'starter/01-echo/server.ts', 'labs/01-echo/README.md', 'spec/01-echo.md', '.github/workflows/classroom.yml', '.github/classroom/report.mjs']) {
      expect(exported, file).toContain(file);
    }
    expect(readFileSync(path.join(out, 'README.md'), 'utf8')).toMatch(/npm run lab 1/);
    const scripts = (JSON.parse(readFileSync(path.join(out, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(Object.keys(scripts)).toContain('lab');
    for (const instructorOnly of ['grade', 'export', 'gradescope', 'bench']) expect(Object.keys(scripts)).not.toContain(instructorOnly);
  });

  test('holds nothing from solutions/ or hidden/: no such path, no copy of such a file, no distinctive line of one', () => {
    expect(exported.filter((f) => secret(f) || f.startsWith('grader/instructor/') || /(^|\/)hidden\//.test(f))).toEqual([]);
    expect(exported.filter((f) => /instructor/.test(f) || /^grader\/test\/(labs\/|labs\.test\.ts$|lab-invariants\.ts$)/.test(f))).toEqual([]);

    const kit = filesUnder(root, '.').map((f) => f.replace(/^\.\//, ''));
    const secrets = kit.filter(secret);
    const open = kit.filter((f) => !secret(f));
    expect(secrets.length).toBeGreaterThan(0);

    // A secret file's bytes, unless the kit also ships the same bytes openly (a support file given in the starter).
    const openHashes = new Set(open.map((f) => hash(path.join(root, f))));
    const secretHashes = new Map(secrets.map((f) => [hash(path.join(root, f)), f]).filter(([h]) => !openHashes.has(h!)) as [string, string][]);
    const copies = exported.filter((f) => secretHashes.has(hash(path.join(out, f)))).map((f) => `${f} = ${secretHashes.get(hash(path.join(out, f)))}`);
    expect(copies).toEqual([]);

    // Lines found only in secret files: their comments and their code, not what the starters share.
    const textual = (f: string) => /\.(ts|mjs|js|md|json|yml|sh)$/.test(f);
    const openLines = new Set(open.filter(textual).flatMap((f) => lines(path.join(root, f))));
    const distinctive = new Set(secrets.filter(textual).flatMap((f) => lines(path.join(root, f))).filter((l) => l.length >= 20 && !openLines.has(l)));
    expect(distinctive.size).toBeGreaterThan(20);
    const leaks = exported.filter(textual).flatMap((f) => lines(path.join(out, f)).filter((l) => distinctive.has(l)).map((l) => `${f}: ${l}`));
    expect(leaks).toEqual([]);
  });

  test('every relative import that resolves in the kit resolves in the export', () => {
    const missing: string[] = [];
    for (const file of exported.filter((f) => /\.(ts|mjs)$/.test(f))) {
      for (const match of readFileSync(path.join(out, file), 'utf8').matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
        const target = path.join(path.dirname(file), match[1]!);
        const candidates = [target, target.replace(/\.js$/, '.ts')];
        const inKit = candidates.some((c) => existsSync(path.join(root, c)));
        const inExport = candidates.some((c) => existsSync(path.join(out, c)));
        if (inKit && !inExport) missing.push(`${file} imports ${match[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test('installs with npm ci and grades the starter of lab 1 at zero; the Classroom report gives points per phase', async () => {
    const install = await npm(['ci', '--no-audit', '--no-fund'], ms(90_000));
    expect(install.exitCode, `${install.stdout}\n${install.stderr}`).toBe(0);

    const results = path.join(scratch, 'lab1.json');
    const lab = await npm(['run', 'lab', '1', '--', '--json', results], ms(60_000));
    expect(lab.exitCode, `${lab.stdout}\n${lab.stderr}`).toBe(1);
    const report = JSON.parse(readFileSync(results, 'utf8')) as { score: number; maxScore: number; phases: { id: string; status: string }[] };
    expect(report.score).toBe(0);
    expect(report.maxScore).toBe(100);
    expect(report.phases.map((p) => p.id)).toEqual(['1.1', '1.2', '1.3', '1.4', '1.5']);
    expect(String(lab.stdout)).toMatch(/still a TODO/);

    const output = path.join(scratch, 'github-output');
    const summary = path.join(scratch, 'github-summary');
    const classroom = await execa(process.execPath, [path.join(out, '.github', 'classroom', 'report.mjs'), results], {
      env: { GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary },
      reject: false,
    });
    expect(classroom.exitCode, String(classroom.stderr)).toBe(0);
    const encoded = /^result=(.+)$/m.exec(readFileSync(output, 'utf8'))![1]!;
    const result = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as { status: string; max_score: number; tests: { name: string; status: string; score: number; message: string }[] };
    expect(result.status).toBe('fail');
    expect(result.max_score).toBe(100);
    expect(result.tests.map((t) => [t.name.split(' ')[0], t.status, t.score])).toEqual(report.phases.map((p) => [p.id, 'fail', 0]));
    expect(result.tests[0]!.message).toMatch(/still a TODO/);
    expect(readFileSync(summary, 'utf8')).toMatch(/^\| ❌ \| 1\.1 \| a connection and a line, echoed \| 0\/15 \|$/m);

    const workflow = readFileSync(path.join(out, '.github', 'workflows', 'classroom.yml'), 'utf8');
    expect(workflow).toMatch(/^name: Autograding Tests$/m);
    expect(workflow).toContain("vars.SWITCHBOARD_LAB || '1'");
    expect(workflow).toContain('runners: grader');
  }, ms(240_000));
});

describe('a starter that holds an earlier lab\'s finished code', () => {
  const kit = path.resolve(import.meta.dirname, '..', '..');
  const labs = Promise.all(labDirs(kit).map((dir) => loadLab(kit, dir)));
  const lab = async (n: number) => (await labs).find((l) => l.number === n)!;

  test('is declared in lab.ts: every starter file that is an earlier lab\'s finished file (not its starter\'s) belongs to a lab it carries', async () => {
    for (const later of await labs) {
      const carried = carriedLabs(later, await labs).map((l) => l.dir);
      for (const earlier of (await labs).filter((l) => l.number < later.number)) {
        const finished = readdirSync(path.join(kit, 'starter', later.dir)).filter((file) => {
          const solution = path.join(kit, 'solutions', earlier.dir, file);
          const starter = path.join(kit, 'starter', earlier.dir, file);
          const same = (a: string, b: string) => existsSync(a) && existsSync(b) && hash(a) === hash(b);
          return file.endsWith('.ts') && same(path.join(kit, 'starter', later.dir, file), solution) && !same(starter, solution);
        });
        if (finished.length) expect(carried, `starter/${later.dir} has ${earlier.dir}'s finished ${finished.join(', ')}`).toContain(earlier.dir);
      }
    }
    expect(carriedLabs(await lab(7), await labs).map((l) => l.number)).toEqual([6, 5, 3]);
  });

  test('is refused while that lab is open or not released with it; released with it and closed, it is named', async () => {
    const [three, five, six] = [await lab(3), await lab(5), await lab(6)];
    expect(earlierSolutionsProblems([three, five, six], await labs, [], { releasedAll: true })).toEqual([]);
    expect(earlierSolutionsProblems([three, five, six], await labs, ['05-persistence'], { releasedAll: true })).toEqual([
      'starter/06-replication holds the finished code of lab 5 (05-persistence), which is still open (--open 5)',
    ]);
    expect(earlierSolutionsProblems([three, six], await labs, [], { releasedAll: true })).toEqual([
      'starter/06-replication holds the finished code of lab 5 (05-persistence), which this export does not release',
    ]);
    // The Gradescope package of one lab asks only whether the labs it carries are open.
    expect(earlierSolutionsProblems([six], await labs, [])).toEqual([]);
    expect(String(made.stdout)).toContain('starter/07-consensus holds the finished code of lab 6 (06-replication) and, through it, lab 5 (05-persistence) and lab 3 (03-protocol)\n');
    expect(readFileSync(path.join(out, 'README.md'), 'utf8')).toContain('- `starter/06-replication/` holds the finished code of lab 5 (and through it of lab 3).');
  });

  test('npm run export refuses before writing anything, naming each lab and what to do', async () => {
    const refusedOut = path.join(scratch, 'refused');
    const refused = await runInstructor('export', ['--out', refusedOut, '--labs', '1,2,3,4,5,6', '--open', '5'], { kit: root });
    expect(refused.exitCode).toBe(1);
    expect(String(refused.stderr)).toBe(
      "export: refused, as it would hand out a lab's solution:\n" +
        '  starter/06-replication holds the finished code of lab 5 (05-persistence), which is still open (--open 5)\n' +
        'release it with those labs once they have closed, or pass --include-earlier-solutions to release it anyway',
    );
    expect(existsSync(refusedOut)).toBe(false);
  }, ms(60_000));
});
