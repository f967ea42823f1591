// Grading one Gradescope submission, inside Gradescope's container (run_autograder calls this).
//
// Layout, under AUTOGRADER_ROOT (default /autograder): source/ is the unpacked package (this kit),
// submission/ what the student handed in, results/results.json what Gradescope reads.
//
// A submission is the student repository (uploaded from GitHub) or the lab's files (uploaded one
// by one, or zipped in a folder). They are copied over a fresh copy of the lab's starter, so a
// file the student did not upload (todo.ts, say) is the starter's, and the output says which.
// The grader runs as a student runs it, with the hidden tests added; each phase becomes one
// Gradescope test, and the hidden phases' tests get their own visibility.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LabSpec } from '../lab.js';
import { findLab, loadLab } from '../labs.js';
import { toGradescope, writeAtomically } from '../report/files.js';
import { startProblems } from './check.js';
import { runCli, whyNoReport } from './child.js';
import { locate, type Located } from './submissions.js';
import { copyTree, makeScratch, openScratch, removeTree } from './workspace.js';
import { claimSlot, endAllOf, graderNetns, isRoot, makePlan, protectionsLine, protectionsOf, shareWithUser } from '../sandbox/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface GradescopeTest {
  name: string;
  number: string;
  score: number;
  max_score: number;
  status: string;
  output: string;
  visibility?: string;
}

interface GradescopeResults {
  score: number;
  max_score: number;
  execution_time?: number;
  output: string;
  visibility?: string;
  tests: GradescopeTest[];
}

/** Results for a submission that could not be graded: every phase at zero, with the reason. */
function ungraded(lab: LabSpec, reason: string, hiddenVisibility: string): GradescopeResults {
  return {
    score: 0,
    max_score: lab.phases.reduce((sum, p) => sum + p.points, 0),
    output: reason,
    tests: lab.phases.map((p) => ({
      name: `${p.id} ${p.name}`,
      number: p.id,
      score: 0,
      max_score: p.points,
      status: 'failed',
      output: `not graded: ${reason}`,
      ...(p.hidden && { visibility: hiddenVisibility }),
    })),
  };
}

function describeSubmission(located: Located, submission: string, lab: LabSpec): string {
  if (located.layout === 'repository') return `your repository's starter/${lab.dir}/`;
  const where = path.relative(submission, located.folder!);
  return where ? `the files you submitted in ${where}/` : 'the files you submitted';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      lab: { type: 'string' },
      'hidden-visibility': { type: 'string', default: 'after_published' },
      timeout: { type: 'string', default: '900' },
    },
  });
  const home = process.env.AUTOGRADER_ROOT ?? '/autograder';
  const submission = path.join(home, 'submission');
  const resultsFile = path.join(home, 'results', 'results.json');
  const hiddenVisibility = values['hidden-visibility'];
  const dir = values.lab ? findLab(root, values.lab) : undefined;
  if (!dir) throw new Error(`run_autograder names no lab this package holds: "${values.lab}"`);
  const lab = await loadLab(root, dir, { hidden: true });
  const write = (results: GradescopeResults) => writeAtomically(resultsFile, `${JSON.stringify(results, null, 2)}\n`);

  const located = existsSync(submission) ? locate(submission, lab) : { layout: 'neither' as const, missing: [], reason: 'the submission folder is missing' };
  if (!located.folder) {
    const programs = Object.values(lab.programs).map((p) => p.file).join(' and ');
    write(ungraded(lab, `Nothing to grade: ${located.reason}. Submit your repository, or ${programs} from starter/${lab.dir}/.`, hiddenVisibility));
    return;
  }

  const scratch = makeScratch('switchboard-autograder');
  let claimed: ReturnType<typeof claimSlot> | undefined;
  try {
    const work = path.join(scratch, 'copies', lab.dir);
    // The student's programs are confined: a grading user where we are root (Gradescope is),
    // bubblewrap and a loopback-only network where the container allows them, limits always.
    openScratch(scratch);
    const netns = graderNetns(path.join(root, '.switchboard', 'groups'));
    claimed = isRoot ? claimSlot() : undefined;
    const plan = makePlan({ slot: claimed?.slot ?? 1, work: path.join(scratch, 'work', 'submission'), loopbackOnly: Boolean(netns), kit: root });
    copyTree(path.join(root, 'starter', lab.dir), work);
    const starterFiles = readdirSync(work);
    copyTree(located.folder, work);
    shareWithUser(plan, work);
    const fromStarter = starterFiles.filter((file) => !existsSync(path.join(located.folder!, file)));
    const problems = await startProblems(lab, work, [], path.join(scratch, 'build'), { confined: Boolean(plan) });

    const outcome = await runCli({
      root,
      lab: lab.dir,
      impl: work,
      hidden: true,
      json: path.join(scratch, 'results.json'),
      logs: path.join(scratch, 'run'),
      timeoutMs: Number(values.timeout) * 1000,
      sandbox: plan,
      prefix: plan && netns,
    });
    // Results are read only once nothing of the submission runs.
    if (plan?.user) await endAllOf(plan.user);
    const confinement = protectionsLine(protectionsOf(plan));
    const notes = [
      `Graded: ${describeSubmission(located, submission, lab)}.`,
      ...(fromStarter.length ? [`Not in your submission, so the starter's were used: ${fromStarter.join(', ')}.`] : []),
      ...problems.map((p) => p.split(work + path.sep).join('')),
    ];
    if (!outcome.run) {
      write(ungraded(lab, [...notes, whyNoReport(outcome, Number(values.timeout) * 1000)].join('\n'), hiddenVisibility));
      return;
    }
    const results = toGradescope(outcome.run) as GradescopeResults;
    const hidden = new Set(lab.phases.filter((p) => p.hidden).map((p) => p.id));
    for (const test of results.tests) if (hidden.has(test.number)) test.visibility = hiddenVisibility;
    results.output = [`Lab ${lab.number}: ${lab.title}: ${outcome.run.score}/${outcome.run.maxScore}.`, ...notes, ...outcome.run.errors, '', `Your programs ran ${confinement}`].join('\n');
    write(results);
  } finally {
    removeTree(scratch);
    claimed?.release();
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`autograder error: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
