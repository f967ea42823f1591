// Grading one submission of a batch: recognise it, copy it, name what stops it from starting,
// run the grader on the copy in a child process, keep its report and logs, and turn the result
// into a row. Whatever happens, the submission gets its row: a failure here is the row's reason.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LabSpec } from '../lab.js';
import { claimSlot, endAllOf, isRoot, makePlan, shareWithUser } from '../sandbox/index.js';
import { startProblems } from './check.js';
import { runCli, whyNoReport } from './child.js';
import { emptyRow, firstLoss, type Row } from './rows.js';
import { locate } from './submissions.js';
import { copyTree, forgetBuilds, removeTree } from './workspace.js';

export interface BatchContext {
  root: string;
  /** The lab, with its hidden phases when `hidden`. */
  lab: LabSpec;
  hidden: boolean;
  /** The folder holding one folder per submission. */
  submissions: string;
  /** Temporary folder of this batch: the copies and the pre-check builds go there. */
  scratch: string;
  /** Where each submission's report.txt, results.json and logs are kept. */
  reports: string;
  timeoutMs: number;
  /** Confine the programs (grader/sandbox): 'off' only when asked. */
  sandbox: 'auto' | 'required' | 'off';
  /** The command that puts a grader in a network namespace with loopback only, where one can be made. */
  netns?: string[];
}

/** A reason as the table shows it: without the temporary copy's path or the port the OS chose, which differ run to run. */
function oneLine(reason: string, copy: string): string {
  return reason.split(copy + path.sep).join('').replace(/\bport \d+/g, 'port N');
}

/** `slot`: the job slot grading it (1, 2, ...), whose grading user it runs as when the grader is root. */
export async function gradeSubmission(context: BatchContext, name: string, slot = 1): Promise<Row> {
  const { root, lab } = context;
  const started = Date.now();
  const original = path.join(context.submissions, name);
  const located = locate(original, lab);
  if (!located.folder) {
    return emptyRow(lab, { name, layout: located.layout, status: 'not a submission', reason: located.reason ?? '', durationMs: 0 });
  }

  const copy = path.join(context.scratch, 'copies', name);
  const folder = path.join(copy, path.relative(original, located.folder));
  const report = path.join(context.reports, name);
  const work = path.join(context.scratch, 'work', name);
  let claimed: ReturnType<typeof claimSlot> | undefined;
  try {
    copyTree(original, copy);
    // As root, a grading user no other grader on the machine is using now (see claimSlot).
    if (context.sandbox !== 'off' && isRoot) {
      claimed = claimSlot();
      slot = claimed.slot;
    }
    const plan = context.sandbox === 'off' ? undefined : makePlan({ slot, work, loopbackOnly: Boolean(context.netns), kit: root });
    shareWithUser(plan, copy);
    const problems = await startProblems(lab, folder, located.missing, path.join(context.scratch, 'build'), { confined: Boolean(plan) });
    // Another submission's programs must not read this one's report (it quotes the hidden tests).
    mkdirSync(report, { recursive: true, mode: 0o700 });
    const outcome = await runCli({
      root,
      lab: lab.dir,
      impl: folder,
      hidden: context.hidden,
      json: path.join(report, 'results.json'),
      logs: path.join(report, 'run'),
      timeoutMs: context.timeoutMs,
      sandbox: plan,
      prefix: plan && context.netns,
    });
    // The row is read only once nothing of the submission runs (a program in a session of its own, say).
    if (plan?.user) await endAllOf(plan.user);
    writeFileSync(path.join(report, 'report.txt'), outcome.stderr.trim() ? `${outcome.stdout}\n--- the grader's standard error ---\n${outcome.stderr}\n` : outcome.stdout);
    const durationMs = Date.now() - started;
    if (!outcome.run) {
      return emptyRow(lab, { name, layout: located.layout, status: 'failed to run', reason: whyNoReport(outcome, context.timeoutMs), durationMs, report });
    }
    const points = Object.fromEntries(lab.phases.map((p) => [p.id, outcome.run!.phases.find((q) => q.id === p.id)?.points ?? 0]));
    return {
      name,
      layout: located.layout,
      status: 'graded',
      score: outcome.run.score,
      maxScore: outcome.run.maxScore,
      points,
      reason: oneLine(problems.length ? problems.join('; ') : firstLoss(outcome.run), copy),
      durationMs,
      report,
    };
  } catch (error) {
    // A copy that cannot be made, a folder that cannot be read: this submission's row says so.
    const reason = `could not be graded: ${(error as Error).message.split('\n')[0]}`;
    return emptyRow(lab, { name, layout: located.layout, status: 'failed to run', reason, durationMs: Date.now() - started });
  } finally {
    removeTree(copy);
    removeTree(work);
    claimed?.release();
    forgetBuilds(root, lab, folder);
  }
}
