// `npm run export -- --out DIR [--labs 1,2]`: the student repository. It holds what a student
// needs to do the labs and grade them: starter/, each lab's handout and public tests, spec/, the
// grader, the package files (instructor scripts removed), a README for students, and a GitHub
// Actions workflow that reports points to GitHub Classroom. It never holds solutions/, a lab's
// hidden/ tests, the instructor tooling, or the kit's own tests that run the solutions.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabSpec } from '../lab.js';
import { findLab, labDirs, loadLab } from '../labs.js';
import { filesUnder } from './kit-files.js';
import { parseOptions, usageError } from './usage.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const templates = path.join(root, 'grader', 'instructor', 'templates');

/** Scripts only an instructor runs (they need the solutions or the instructor tooling). */
const instructorScripts = ['grade', 'export', 'gradescope', 'bench'];

const usage = `usage: npm run export -- --out DIR [options]

  --out DIR      where to write the student repository (a new or empty folder)
  --labs LIST    only these labs, e.g. 1,2 (default: every lab: ${labDirs(root).join(', ')}); export
                 only the labs you have released
  --lab N        the lab the GitHub Classroom workflow grades unless the SWITCHBOARD_LAB variable
                 says otherwise (default: the first exported lab)`;

/** A kit test file that runs the reference solutions, or belongs to the instructor tooling. */
function instructorTest(file: string): boolean {
  if (/^grader\/test\/(instructor-|fixtures\/instructor\/)/.test(file)) return true;
  return file.endsWith('.test.ts') && /--solution|solutions\/|'solution'/.test(readFileSync(path.join(root, file), 'utf8'));
}

/** Whether a file of spec/ or starter/ belongs to a lab (01-...) that is not exported. */
function otherLab(file: string, exported: LabSpec[]): boolean {
  const prefix = /^(\d\d)-/.exec(file.split('/')[1] ?? '')?.[1];
  return prefix !== undefined && !exported.some((lab) => lab.dir.startsWith(`${prefix}-`));
}

/** Every file of the export, relative to the kit's root: what is copied as it is. */
function copiedFiles(labs: LabSpec[]): string[] {
  return [
    ...['package-lock.json', 'tsconfig.json', 'vitest.config.ts', '.gitignore'].flatMap((file) => filesUnder(root, file)),
    ...filesUnder(root, 'grader', (file) => !file.startsWith('grader/instructor/') && !(file.startsWith('grader/test/') && instructorTest(file))),
    ...labs.flatMap((lab) => filesUnder(root, `labs/${lab.dir}`, (file) => !file.startsWith(`labs/${lab.dir}/hidden/`))),
    ...filesUnder(root, 'starter', (file) => !otherLab(file, labs)),
    ...filesUnder(root, 'spec', (file) => !otherLab(file, labs)),
  ];
}

function studentPackage(kitTestsLeft: boolean): string {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  for (const script of instructorScripts) delete pkg.scripts[script];
  if (!kitTestsLeft) delete pkg.scripts.test;
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/@@(\w+)@@/g, (whole, key: string) => values[key] ?? whole);
}

function studentReadme(labs: LabSpec[], lab: LabSpec): string {
  const rows = labs.map(
    (l) => `| ${l.number} | ${l.title} | [labs/${l.dir}/README.md](labs/${l.dir}/README.md) | [spec/${l.dir}.md](spec/${l.dir}.md) | \`starter/${l.dir}/\` |`,
  );
  return fill(readFileSync(path.join(templates, 'student-README.md'), 'utf8'), { LAB: String(lab.number), LABS_TABLE: rows.join('\n') });
}

async function main(): Promise<number> {
  const values = parseOptions(usage, { options: { out: { type: 'string' }, labs: { type: 'string' }, lab: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  const cwd = process.env.INIT_CWD ?? process.cwd();
  if (!values.out) usageError(usage, 'where to? --out DIR');
  const out = path.resolve(cwd, values.out);
  if (existsSync(out) && readdirSync(out).length > 0) usageError(usage, `${out} is not empty: export into a new or empty folder`);
  const fromRoot = path.relative(root, out);
  if (!fromRoot.startsWith('..') && !path.isAbsolute(fromRoot)) usageError(usage, `${out} is inside the kit: export somewhere else`);

  const names = values.labs ? values.labs.split(',').map((s) => s.trim()).filter(Boolean) : labDirs(root);
  const dirs = names.map((name) => findLab(root, name) ?? usageError(usage, `there is no lab "${name}"; the labs are ${labDirs(root).join(', ')}`));
  const labs = await Promise.all([...new Set(dirs)].sort().map((dir) => loadLab(root, dir)));
  if (labs.length === 0) usageError(usage, 'there are no labs to export');
  const graded = values.lab ? labs.find((l) => l.dir === findLab(root, values.lab!)) : labs[0];
  if (!graded) usageError(usage, `--lab ${values.lab} is not among the exported labs (${labs.map((l) => l.number).join(', ')})`);

  const files = copiedFiles(labs);
  const kitTestsLeft = files.some((file) => file.startsWith('grader/test/') && file.endsWith('.test.ts'));
  const write = (file: string, data: string | Buffer) => {
    mkdirSync(path.dirname(path.join(out, file)), { recursive: true });
    writeFileSync(path.join(out, file), data);
  };
  for (const file of files) write(file, readFileSync(path.join(root, file)));
  write('package.json', studentPackage(kitTestsLeft));
  write('README.md', studentReadme(labs, graded));
  const nodeMajor = process.versions.node.split('.')[0]!;
  write('.github/workflows/classroom.yml', fill(readFileSync(path.join(templates, 'classroom.yml'), 'utf8'), { LAB: String(graded.number), NODE_MAJOR: nodeMajor }));
  write('.github/classroom/report.mjs', readFileSync(path.join(templates, 'classroom-report.mjs')));

  process.stdout.write(
    `${out}: a student repository with lab(s) ${labs.map((l) => `${l.number} ${l.dir}`).join(', ')} (${files.length + 4} files)\n` +
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
