// `npm run gradescope -- --lab N --out FILE.zip`: an autograder package in Gradescope's layout.
// At the top, setup.sh (installs Node.js and the kit's dependencies when Gradescope builds the
// image) and run_autograder (grades one submission); beside them, the parts of the kit that
// grading needs: the grader, the labs' public and hidden tests, the lab's starter (for files a
// submission leaves out) and the package files. No reference solution goes in.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLab } from '../labs.js';
import { filesUnder } from './kit-files.js';
import { labOption, parseOptions, shownPath, usageError } from './usage.js';
import { makeZip, type ZipEntry } from './zip.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const templates = path.join(root, 'grader', 'instructor', 'templates');
const visibilities = ['hidden', 'after_due_date', 'after_published', 'visible'];

const usage = `usage: npm run gradescope -- --lab N --out FILE.zip [options]

  --lab N                     the lab the assignment grades: 1, 01, echo, 01-echo
  --out FILE.zip              where to write the package (upload it as the assignment's autograder)
  --hidden-visibility WHEN    when students see the hidden phases' tests: ${visibilities.join(', ')}
                              (default: after_published)
  --node VERSION              the Node.js version setup.sh installs (default: this one, ${process.versions.node})
  --timeout SECONDS           stop grading one submission after this long (default: 900)`;

/** The kit's files that grading lab `dir` needs, as paths relative to the root. */
function gradingFiles(dir: string): string[] {
  return [
    ...['package.json', 'package-lock.json', 'tsconfig.json'].flatMap((file) => filesUnder(root, file)),
    ...filesUnder(root, 'grader', (file) => !file.startsWith('grader/test/')),
    ...filesUnder(root, 'labs'),
    ...filesUnder(root, `starter/${dir}`),
  ];
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

  const lab = await loadLab(root, dir, { hidden: true });
  const hidden = lab.phases.filter((p) => p.hidden);
  const placeholders = { LAB: dir, NODE_VERSION: node, VISIBILITY: visibility, TIMEOUT: timeout };
  const entries: ZipEntry[] = gradingFiles(dir).map((file) => ({ path: file, data: readFileSync(path.join(root, file)) }));
  for (const script of ['setup.sh', 'run_autograder']) {
    const text = fill(readFileSync(path.join(templates, script), 'utf8'), placeholders);
    entries.push({ path: script, data: Buffer.from(text), mode: 0o755 });
  }

  const out = path.resolve(cwd, values.out);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, makeZip(entries));
  const points = lab.phases.reduce((sum, p) => sum + p.points, 0);
  process.stdout.write(
    `${shownPath(cwd, out)}: lab ${lab.number} (${lab.title}), ${entries.length} files, Node ${node}\n` +
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
