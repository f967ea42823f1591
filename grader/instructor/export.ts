// `npm run export -- --out DIR [--labs 1,2]`: the student repository. It holds what a student
// needs to do the labs and grade them: starter/, each lab's handout and public tests, spec/, the
// grader, the package files (instructor scripts removed), a README for students, and a GitHub
// Actions workflow that reports points to GitHub Classroom. It never holds solutions/, a lab's
// hidden/ tests, the instructor tooling, or the kit's own tests that run the solutions.
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabSpec } from '../lab.js';
import { loadLab, namesLab, releaseFile, type Release } from '../labs.js';
import { carriedLabs, carriesLines, earlierSolutionsProblems } from './carries.js';
import { importClosure, type KitSource, PackageRefused, packageSource, sourceLabDirs } from './sources.js';
import { parseOptions, usageError } from './usage.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const templates = 'grader/instructor/templates';

/** Scripts only an instructor runs (they need the solutions or the instructor tooling). */
const instructorScripts = ['grade', 'export', 'gradescope', 'bench', 'stress', 'test:deep'];

const usage = `usage: npm run export -- --out DIR [options]

  --out DIR             where to write the student repository (a new or empty folder)
  --labs LIST           only these labs, e.g. 1,2 (default: every lab); export only the labs you
                        have released: the others are named in the export as not released yet
  --lab N               the lab the GitHub Classroom workflow grades unless the SWITCHBOARD_LAB
                        variable says otherwise (default: the first exported lab)
  --open LIST           labs whose students may still be working on them, e.g. 5: the export is
                        refused while a lab's starter holds an open lab's finished code
                        (starter/06-replication holds lab 5's), or a lab's it does not release
  --include-earlier-solutions
                        export even so
  --from-working-tree   build from the files as they are now; by default the export is built
                        from what is committed (HEAD), and refused while a file it would hold
                        differs from HEAD or is untracked`;

/** A kit test file that runs the reference solutions, or belongs to the instructor tooling. */
function instructorTest(source: KitSource, file: string): boolean {
  if (/^grader\/test\/(instructor-|fixtures\/instructor\/)/.test(file)) return true;
  // Confinement is for grading others' code: its tests grade batches with the instructor tools.
  if (/^grader\/test\/(sandbox[\w-]*\.test\.ts$|fixtures\/sandbox\/)/.test(file)) return true;
  // The labs' invariants grade solutions/ (grader/test/labs/, the helper they share, the check that every lab has one).
  if (/^grader\/test\/(labs\/|labs\.test\.ts$|lab-invariants\.ts$)/.test(file)) return true;
  return file.endsWith('.test.ts') && /--solution|solutions\/|'solution'/.test(source.read(file).toString('utf8'));
}

/** Whether a file of spec/ or starter/ belongs to a lab (01-...) that is not exported. */
function otherLab(file: string, exported: string[]): boolean {
  const prefix = /^(\d\d)-/.exec(file.split('/')[1] ?? '')?.[1];
  return prefix !== undefined && !exported.some((dir) => dir.startsWith(`${prefix}-`));
}

/** Every file of the export that is copied as it is, relative to the kit's root. */
function copiedFiles(source: KitSource, labs: string[]): string[] {
  const top = ['package-lock.json', 'tsconfig.json', 'vitest.config.ts', '.gitignore', '.gitattributes'];
  const chosen = source.files.filter((file) => {
    if (top.includes(file)) return true;
    if (file.startsWith('grader/')) return !file.startsWith('grader/instructor/') && !(file.startsWith('grader/test/') && instructorTest(source, file));
    const lab = /^labs\/([^/]+)\//.exec(file)?.[1];
    if (lab) return labs.includes(lab) && !file.startsWith(`labs/${lab}/hidden/`);
    if (file.startsWith('starter/') || file.startsWith('spec/')) return !otherLab(file, labs);
    // The pictures the handouts show (the cluster view's screenshots).
    if (file.startsWith('docs/')) return true;
    return false;
  });
  // A lab's tests may use an earlier lab's public test helpers (lab 5 grades with lab 3's codec):
  // those come along even when that lab is not released. A solution or a hidden test never does.
  const imported = [...importClosure(source, chosen.filter((file) => file.startsWith('labs/')))].filter((file) => !chosen.includes(file));
  const forbidden = imported.filter((file) => file.startsWith('solutions/') || /^labs\/[^/]+\/hidden\//.test(file));
  if (forbidden.length) throw new Error(`the exported labs' tests import ${forbidden.join(', ')}, which a student repository must not hold`);
  return [...chosen, ...imported.filter((file) => /^labs\/[^/]+\/tests\//.test(file))].sort();
}

/** What the export reads besides the files it copies: the package file and its templates. */
const readFiles = ['package.json', ...['student-README.md', 'classroom.yml', 'classroom-report.mjs'].map((t) => `${templates}/${t}`)];

function studentPackage(source: KitSource, kitTestsLeft: boolean): string {
  const pkg = JSON.parse(source.read('package.json').toString('utf8')) as { scripts: Record<string, string> };
  for (const script of instructorScripts) delete pkg.scripts[script];
  if (!kitTestsLeft) delete pkg.scripts.test;
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/@@(\w+)@@/g, (whole, key: string) => values[key] ?? whole);
}

/** For the student README: which labs start from an earlier lab's finished code, or nothing. */
function carriesNote(labs: LabSpec[], allLabs: LabSpec[]): string {
  const notes = labs.flatMap((lab) => {
    const chain = carriedLabs(lab, allLabs);
    if (!chain.length) return [];
    const [nearest, ...further] = chain.map((l) => `lab ${l.number}`);
    return [`- \`starter/${lab.dir}/\` holds the finished code of ${nearest}${further.length ? ` (and through it of ${further.join(' and ')})` : ''}.`];
  });
  if (!notes.length) return '';
  return `\nSome labs start from an earlier lab working: their starter holds that lab's finished code (its\nreference solution), so that a lab never depends on your last one; its handout says how to\nswap in your own.\n\n${notes.join('\n')}\n`;
}

function studentReadme(source: KitSource, labs: LabSpec[], allLabs: LabSpec[], lab: LabSpec): string {
  const rows = labs.map(
    (l) => `| ${l.number} | ${l.title} | [labs/${l.dir}/README.md](labs/${l.dir}/README.md) | [spec/${l.dir}.md](spec/${l.dir}.md) | \`starter/${l.dir}/\` |`,
  );
  return fill(source.read(`${templates}/student-README.md`).toString('utf8'), { LAB: String(lab.number), LABS_TABLE: rows.join('\n'), CARRIES: carriesNote(labs, allLabs) });
}

/** The lab folders the user named among `all`, in order; a usage error names one that is not there. */
function chosenLabs(all: string[], given: string | undefined): string[] {
  if (!given) return all;
  const names = given.split(',').map((s) => s.trim()).filter(Boolean);
  const dirs = names.map((name) => all.find((dir) => namesLab(dir, name)) ?? usageError(usage, `there is no lab "${name}"; the labs are ${all.join(', ')}`));
  return [...new Set(dirs)].sort();
}

async function main(): Promise<number> {
  const values = parseOptions(usage, {
    options: {
      out: { type: 'string' },
      labs: { type: 'string' },
      lab: { type: 'string' },
      open: { type: 'string' },
      'include-earlier-solutions': { type: 'boolean' },
      'from-working-tree': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const cwd = process.env.INIT_CWD ?? process.cwd();
  if (!values.out) usageError(usage, 'where to? --out DIR');
  const out = path.resolve(cwd, values.out);
  if (existsSync(out) && readdirSync(out).length > 0) usageError(usage, `${out} is not empty: export into a new or empty folder`);
  const fromRoot = path.relative(root, out);
  if (!fromRoot.startsWith('..') && !path.isAbsolute(fromRoot)) usageError(usage, `${out} is inside the kit: export somewhere else`);

  let all: string[] = [];
  let dirs: string[] = [];
  let built;
  try {
    built = packageSource(root, Boolean(values['from-working-tree']), (source) => {
      all = sourceLabDirs(source);
      dirs = chosenLabs(all, values.labs);
      return [...copiedFiles(source, dirs), ...readFiles];
    });
  } catch (error) {
    if (!(error instanceof PackageRefused)) throw error;
    process.stderr.write(`export: ${error.message}\n`);
    return 1;
  }
  const { source } = built;
  // The selection ran last on the source it builds from: `all` and `dirs` are that source's.
  dirs = chosenLabs((all = sourceLabDirs(source)), values.labs);
  if (dirs.length === 0) usageError(usage, 'there are no labs to export');
  const allLabs = await Promise.all(all.map((dir) => loadLab(root, dir)));
  const labs = allLabs.filter((l) => dirs.includes(l.dir));
  // A starter may hold an earlier lab's solution (lab.ts says which): not while that lab is open.
  const open = values.open ? chosenLabs(all, values.open) : [];
  const problems = earlierSolutionsProblems(labs, allLabs, open, { releasedAll: true });
  if (problems.length && !values['include-earlier-solutions']) {
    process.stderr.write(`export: refused, as it would hand out a lab's solution:\n${problems.map((p) => `  ${p}\n`).join('')}release it with those labs once they have closed, or pass --include-earlier-solutions to release it anyway\n`);
    return 1;
  }
  const graded = values.lab ? labs.find((l) => namesLab(l.dir, values.lab!)) : labs[0];
  if (!graded) usageError(usage, `--lab ${values.lab} is not among the exported labs (${labs.map((l) => l.number).join(', ')})`);

  const files = copiedFiles(source, dirs);
  const kitTestsLeft = files.some((file) => file.startsWith('grader/test/') && file.endsWith('.test.ts'));
  const write = (file: string, data: string | Buffer, mode = 0o644) => {
    const target = path.join(out, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, data);
    if (mode !== 0o644) chmodSync(target, mode);
  };
  for (const file of files) write(file, source.read(file), source.mode(file));
  write('package.json', studentPackage(source, kitTestsLeft));
  write('README.md', studentReadme(source, labs, allLabs, graded));
  const nodeMajor = process.versions.node.split('.')[0]!;
  write('.github/workflows/classroom.yml', fill(source.read(`${templates}/classroom.yml`).toString('utf8'), { LAB: String(graded.number), NODE_MAJOR: nodeMajor }));
  write('.github/classroom/report.mjs', source.read(`${templates}/classroom-report.mjs`));
  const release: Release = { released: dirs, notYet: all.filter((dir) => !dirs.includes(dir)) };
  write(releaseFile, `${JSON.stringify(release, null, 2)}\n`);

  process.stdout.write(
    `${out}: a student repository with lab(s) ${labs.map((l) => `${l.number} ${l.dir}`).join(', ')} (${files.length + 5} files)\n` +
      `built from ${source.description}\n` +
      carriesLines(labs, allLabs).map((line) => `${line}\n`).join('') +
      problems.map((p) => `included as --include-earlier-solutions asks: ${p}\n`).join('') +
      (release.notYet.length ? `not released yet (named so; of them, only the test helpers an exported lab uses are included): ${release.notYet.join(', ')}\n` : '') +
      `GitHub Classroom grades lab ${graded.number} unless the SWITCHBOARD_LAB variable says otherwise.\n` +
      `Next: cd there, \`npm ci && npm run lab ${graded.number}\` to try it, then push it as the assignment's template repository.\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`export error: ${error.stack ?? error.message}\n`);
    process.exit(2);
  },
);
