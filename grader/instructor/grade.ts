// `npm run grade -- --submissions DIR --lab N`: grades every submission in DIR (one folder per
// student), N at a time, each in its own copy and its own grader process, and writes one row per
// submission: the terminal table, and on request CSV and JSON. Each submission's full report and
// logs are kept in a folder of their own.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Chalk } from 'chalk';
import { GroupRegistry } from '../harness/groups.js';
import { loadLab } from '../labs.js';
import { writeAtomically } from '../report/files.js';
import { gradeSubmission, type BatchContext } from './grade-one.js';
import { runPool } from './pool.js';
import { Progress } from './progress.js';
import { emptyRow, toBatchJson, toCsv, type Row } from './rows.js';
import { listSubmissions } from './submissions.js';
import { renderRows } from './table.js';
import { labOption, parseOptions, shownPath, usageError } from './usage.js';
import { makeScratch, removeTree } from './workspace.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const usage = `usage: npm run grade -- --submissions DIR --lab N [options]

  --submissions DIR   one folder per student: a copy of the student repository, or of its
                      starter/NN-name folder
  --lab N             the lab to grade: 1, 01, echo, 01-echo
  --jobs N            how many submissions to grade at once (default: the number of cores, ${os.availableParallelism()})
  --hidden            include the instructor-only tests in labs/NN-name/hidden
  --csv FILE          the table as CSV
  --json FILE         the table as JSON (switchboard/batch@1)
  --reports DIR       where each submission's report and logs go (default: .switchboard/grade/<time>)
  --timeout SECONDS   stop grading one submission after this long (default: 600)`;

async function main(): Promise<number> {
  const values = parseOptions(usage, {
      options: {
        submissions: { type: 'string' },
        lab: { type: 'string' },
        jobs: { type: 'string' },
        hidden: { type: 'boolean' },
        csv: { type: 'string' },
        json: { type: 'string' },
        reports: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  const cwd = process.env.INIT_CWD ?? process.cwd();
  if (!values.submissions) usageError(usage, 'which submissions? --submissions DIR');
  const submissions = path.resolve(cwd, values.submissions);
  if (!existsSync(submissions) || !statSync(submissions).isDirectory()) usageError(usage, `there is no folder ${submissions}`);
  const dir = labOption(usage, root, values.lab);
  const jobs = values.jobs === undefined ? os.availableParallelism() : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) usageError(usage, `--jobs wants a whole number of at least 1, got "${values.jobs}"`);
  const timeout = values.timeout === undefined ? 600 : Number(values.timeout);
  if (!(timeout > 0)) usageError(usage, `--timeout wants a number of seconds, got "${values.timeout}"`);

  const hidden = Boolean(values.hidden);
  const lab = await loadLab(root, dir, { hidden });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const reports = values.reports ? path.resolve(cwd, values.reports) : path.join(root, '.switchboard', 'grade', stamp);
  mkdirSync(reports, { recursive: true });
  const scratch = makeScratch('switchboard-grade');
  const context: BatchContext = { root, lab, hidden, submissions, scratch, reports, timeoutMs: timeout * 1000 };

  const { folders, others } = listSubmissions(submissions);
  if (others.length) process.stderr.write(`not folders, so not submissions (left alone): ${others.join(', ')}\n`);
  if (folders.length === 0) {
    removeTree(scratch);
    usageError(usage, `${submissions} holds no folders: put each submission in a folder of its own`);
  }

  const interrupt = () => {
    removeTree(scratch);
    process.stderr.write('\ninterrupted: the graders running now stop the processes they started\n');
    process.exit(130);
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  process.on('SIGHUP', interrupt);

  const started = Date.now();
  const progress = new Progress(process.stderr, folders.length, jobs);
  const results = await runPool(folders, jobs, async (name) => {
    progress.start(name);
    const row = await gradeSubmission(context, name);
    progress.finish(name, row.status === 'graded' ? `${row.score}/${row.maxScore} (${(row.durationMs / 1000).toFixed(1)} s)` : row.status, row.durationMs);
    return row;
  });
  progress.end();
  removeTree(scratch);
  // A grader killed on its time limit may have left processes; they belong to no live run now.
  new GroupRegistry(path.join(root, '.switchboard', 'groups'), process.pid, process.pid).reapOrphans();

  const rows: Row[] = results.map((result, i) =>
    result instanceof Error ? emptyRow(lab, { name: folders[i]!, layout: 'neither', status: 'failed to run', reason: `batch error: ${result.message}`, durationMs: 0 }) : result,
  );
  const colour = !process.env.NO_COLOR && (process.stdout.isTTY || Boolean(process.env.FORCE_COLOR));
  const chalk = new Chalk({ level: colour ? 1 : 0 });
  process.stdout.write(`lab ${lab.number}: ${lab.title}${hidden ? ' (with hidden tests)' : ''}\n\n`);
  process.stdout.write(renderRows(lab, rows, chalk, process.stdout.columns || 120));

  const seconds = (Date.now() - started) / 1000;
  const graded = rows.filter((r) => r.status === 'graded');
  const perMinute = seconds > 0 ? (rows.length / seconds) * 60 : 0;
  const mean = graded.length ? graded.reduce((sum, r) => sum + r.score, 0) / graded.length : 0;
  const notGraded = rows.length - graded.length;
  process.stdout.write(
    `\n${rows.length} submission(s) in ${seconds.toFixed(1)} s with --jobs ${jobs} (${perMinute.toFixed(1)} per minute); ` +
      `${graded.length} graded, mean ${mean.toFixed(1)}/${rows[0]?.maxScore ?? 0}${notGraded ? `; ${notGraded} not graded` : ''}\n`,
  );
  process.stdout.write(`each submission's report and logs: ${shownPath(cwd, reports)}\n`);
  if (values.csv) writeAtomically(path.resolve(cwd, values.csv), toCsv(lab, rows));
  if (values.json) writeAtomically(path.resolve(cwd, values.json), `${JSON.stringify(toBatchJson(lab, hidden, rows), null, 2)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`grade error: ${error.stack ?? error.message}\n`);
    process.exit(2);
  },
);
