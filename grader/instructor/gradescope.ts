// `npm run gradescope -- --lab N --out FILE.zip`: an autograder package in Gradescope's layout.
// At the top, setup.sh (installs Node.js and the kit's dependencies when Gradescope builds the
// image) and run_autograder (grades one submission); beside them, only what grading this lab
// needs: the grader (without the kit's tests and without the instructor tools, but for
// run_autograder's own autograder.ts and what it imports), this lab's public and hidden tests
// (no other lab's: a student's program output is shown in Gradescope's feedback, and a program
// could print any file it can read), this lab's starter (for files a submission leaves out) and
// the package files. No reference solution goes in. Built from what is committed (see sources.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { labDirs, loadLab, namesLab } from '../labs.js';
import { carriesLines, earlierSolutionsProblems } from './carries.js';
import { importClosure, type KitSource, PackageRefused, packageSource } from './sources.js';
import { labOption, parseOptions, shownPath, usageError } from './usage.js';
import { makeZip, type ZipEntry } from './zip.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const templates = 'grader/instructor/templates';
const scripts = ['setup.sh', 'run_autograder'];
const visibilities = ['hidden', 'after_due_date', 'after_published', 'visible'];

const usage = `usage: npm run gradescope -- --lab N --out FILE.zip [options]

  --lab N                     the lab the assignment grades: 1, 01, echo, 01-echo
  --out FILE.zip              where to write the package (upload it as the assignment's autograder)
  --hidden-visibility WHEN    when students see the hidden phases' tests: ${visibilities.join(', ')}
                              (default: after_published)
  --node VERSION              the Node.js version setup.sh installs (default: this one, ${process.versions.node})
  --timeout SECONDS           stop grading one submission after this long (default: 900)
  --open LIST                 labs whose students may still be working on them, e.g. 5: refused
                              while this lab's starter, which the package holds, has an open
                              lab's finished code (starter/06-replication has lab 5's)
  --include-earlier-solutions build the package even so
  --from-working-tree         build from the files as they are now; by default the package is
                              built from what is committed (HEAD), and refused while a file it
                              would hold differs from HEAD or is untracked`;

/** The kit's files that grading lab `dir` needs, as paths relative to the root. */
function gradingFiles(source: KitSource, dir: string): string[] {
  const lab = `labs/${dir}/`;
  const fromLab = importClosure(source, source.files.filter((file) => file.startsWith(lab)));
  for (const file of fromLab) {
    // A lab's tests may use another lab's public helpers, never a solution or hidden tests.
    if (!file.startsWith(lab) && (file.startsWith('solutions/') || /^labs\/[^/]+\/hidden\//.test(file))) {
      throw new Error(`lab ${dir}'s tests import ${file}, which a Gradescope package must not hold`);
    }
  }
  const autograder = importClosure(source, ['grader/instructor/autograder.ts']);
  const top = ['package.json', 'package-lock.json', 'tsconfig.json'];
  return source.files.filter((file) => {
    if (top.includes(file) || fromLab.has(file) || file.startsWith(`starter/${dir}/`)) return true;
    if (file.startsWith('grader/instructor/')) return autograder.has(file);
    return file.startsWith('grader/') && !file.startsWith('grader/test/');
  });
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/@@(\w+)@@/g, (whole, key: string) => values[key] ?? whole);
}

async function main(): Promise<number> {
  const values = parseOptions(usage, {
    options: {
      lab: { type: 'string' },
      out: { type: 'string' },
      'hidden-visibility': { type: 'string' },
      node: { type: 'string' },
      timeout: { type: 'string' },
      open: { type: 'string' },
      'include-earlier-solutions': { type: 'boolean' },
      'from-working-tree': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const cwd = process.env.INIT_CWD ?? process.cwd();
  const dir = labOption(usage, root, values.lab);
  if (!values.out) usageError(usage, 'where to? --out FILE.zip');
  const visibility = values['hidden-visibility'] ?? 'after_published';
  if (!visibilities.includes(visibility)) usageError(usage, `--hidden-visibility is one of ${visibilities.join(', ')}, not "${visibility}"`);
  const node = values.node ?? process.versions.node;
  const [major = 0, minor = 0] = node.split('.').map(Number);
  if (!/^\d+\.\d+\.\d+$/.test(node) || major < 20 || (major === 20 && minor < 19)) usageError(usage, `--node wants a version like 20.19.0 (20.19 or newer), got "${node}"`);
  const timeout = values.timeout ?? '900';
  if (!/^\d+$/.test(timeout)) usageError(usage, `--timeout wants a whole number of seconds, got "${timeout}"`);

  // The starter goes in for files a submission leaves out, and a submission's output can show any
  // file it reads: an earlier lab's finished code in it (lab.ts says which) must not be open.
  const all = await Promise.all(labDirs(root).map((d) => loadLab(root, d)));
  const open = (values.open ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean)
    .map((name) => all.find((l) => namesLab(l.dir, name))?.dir ?? usageError(usage, `--open: there is no lab "${name}"`));
  const graded = all.find((l) => l.dir === dir)!;
  const problems = earlierSolutionsProblems([graded], all, open);
  if (problems.length && !values['include-earlier-solutions']) {
    process.stderr.write(`gradescope: refused, as the package would hold a lab's solution:\n${problems.map((p) => `  ${p}\n`).join('')}build it once that lab has closed, or pass --include-earlier-solutions to build it anyway\n`);
    return 1;
  }

  let built;
  try {
    built = packageSource(root, Boolean(values['from-working-tree']), (source) => [...gradingFiles(source, dir), ...scripts.map((s) => `${templates}/${s}`)]);
  } catch (error) {
    if (!(error instanceof PackageRefused)) throw error;
    process.stderr.write(`gradescope: ${error.message}\n`);
    return 1;
  }
  const { source } = built;
  const lab = await loadLab(root, dir, { hidden: true });
  const hidden = lab.phases.filter((p) => p.hidden);
  const placeholders = { LAB: dir, NODE_VERSION: node, VISIBILITY: visibility, TIMEOUT: timeout };
  const entries: ZipEntry[] = gradingFiles(source, dir).map((file) => ({ path: file, data: source.read(file), mode: source.mode(file) }));
  for (const script of scripts) {
    const text = fill(source.read(`${templates}/${script}`).toString('utf8'), placeholders);
    entries.push({ path: script, data: Buffer.from(text), mode: 0o755 });
  }

  const out = path.resolve(cwd, values.out);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, makeZip(entries));
  const points = lab.phases.reduce((sum, p) => sum + p.points, 0);
  process.stdout.write(
    `${shownPath(cwd, out)}: lab ${lab.number} (${lab.title}), ${entries.length} files, Node ${node}\n` +
      `built from ${source.description}\n` +
      carriesLines([graded], all).map((line) => `${line} (in the package, for files a submission leaves out)\n`).join('') +
      problems.map((p) => `included as --include-earlier-solutions asks: ${p}\n`).join('') +
      `phases ${lab.phases.map((p) => p.id).join(' ')}; ${points} points, of which ${hidden.length ? `${hidden.map((p) => `${p.id} (${p.points})`).join(', ')} hidden, shown ${visibility}` : 'none hidden'}\n` +
      `On Gradescope: a Programming Assignment, autograder points ${points}; Configure Autograder, Zip file upload, this file, Update Autograder.\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`gradescope error: ${error.stack ?? error.message}\n`);
    process.exit(2);
  },
);
