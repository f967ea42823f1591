// `npm run grade -- --submissions DIR --lab N`: grades every submission in DIR (one folder per
// student), N at a time, each in its own copy and its own grader process, and writes one row per
// submission: the terminal table, the class report (one HTML page), and on request CSV and JSON.
// Each submission's full report and logs are kept in a folder of their own.
//
// Across machines: `--shard I/N` grades the submissions whose names fall in part I of N (see
// shard.ts), and `--merge DIR` reads the JSON of every shard found under DIR and writes the
// table, CSV, JSON and class report of the whole class.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Chalk } from 'chalk';
import { GroupRegistry } from '../harness/groups.js';
import { loadLab } from '../labs.js';
import { writeAtomically } from '../report/files.js';
import { classReportHtml } from './class-report.js';
import { gradeSubmission, type BatchContext } from './grade-one.js';
import { mergeShards } from './merge.js';
import { runPool } from './pool.js';
import { Progress } from './progress.js';
import { emptyRow, toBatchJson, toCsv, type BatchLab, type Row, type Shard } from './rows.js';
import { classDigest, parseShard, shardNames } from './shard.js';
import { listSubmissions } from './submissions.js';
import { renderRows } from './table.js';
import { labOption, parseOptions, shownPath, usageError } from './usage.js';
import { makeScratch, openScratch, removeTree } from './workspace.js';
import { graderNetns, makePlan, protectionsLine, protectionsOf, type Protections } from '../sandbox/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const usage = `usage: npm run grade -- --submissions DIR --lab N [options]
       npm run grade -- --merge DIR [--csv FILE] [--json FILE] [--html FILE]

  --submissions DIR   one folder per student: a copy of the student repository, or of its
                      starter/NN-name folder
  --lab N             the lab to grade: 1, 01, echo, 01-echo
  --jobs N            how many submissions to grade at once (default: the number of cores, ${os.availableParallelism()})
  --hidden            include the instructor-only tests in labs/NN-name/hidden
  --shard I/N         grade only part I of N of the submissions (2/8): the names, sorted, dealt
                      out in turn, so every machine agrees; give each shard's --json to --merge
  --csv FILE          the table as CSV
  --json FILE         the table as JSON (switchboard/batch@1)
  --html FILE         the class report, one HTML page (default: class-report.html in the
                      reports folder, or in the --merge folder)
  --reports DIR       where each submission's report and logs go (default: .switchboard/grade/<time>)
  --timeout SECONDS   stop grading one submission after this long (default: 600)
  --sandbox MODE      auto (default): confine each submission's programs as far as this machine
                      allows, and say at the top what was not in force; required: refuse to
                      grade without a bubblewrap sandbox; off: no confinement (trusted code only)
  --merge DIR         merge shards: every batch JSON under DIR that --shard wrote, with its
                      reports beside it, into one table, CSV, JSON and class report`;

interface Outputs {
  csv?: string;
  json?: string;
  html: string;
}

/** The table on the terminal, a line of figures, and the files asked for. */
function writeOutputs(lab: BatchLab, hidden: boolean, rows: Row[], outputs: Outputs, cwd: string, extra: { shard?: Shard; origin?: string; summary: string; protections?: Protections }): void {
  const colour = !process.env.NO_COLOR && (process.stdout.isTTY || Boolean(process.env.FORCE_COLOR));
  const chalk = new Chalk({ level: colour ? 1 : 0 });
  process.stdout.write(`lab ${lab.number}: ${lab.title}${hidden ? ' (with hidden tests)' : ''}${extra.shard ? `, shard ${extra.shard.index}/${extra.shard.count}` : ''}\n\n`);
  process.stdout.write(renderRows(lab, rows, chalk, process.stdout.columns || 120));
  const graded = rows.filter((r) => r.status === 'graded');
  const mean = graded.length ? graded.reduce((sum, r) => sum + r.score, 0) / graded.length : 0;
  const notGraded = rows.length - graded.length;
  const max = lab.phases.reduce((sum, p) => sum + p.points, 0);
  process.stdout.write(`\n${extra.summary}; ${graded.length} graded, mean ${mean.toFixed(1)}/${max}${notGraded ? `; ${notGraded} not graded` : ''}\n`);
  if (outputs.csv) writeAtomically(outputs.csv, toCsv(lab, rows));
  const batch = { ...toBatchJson(lab, hidden, rows, outputs.json ?? outputs.html, extra.shard), ...(extra.protections && { protections: extra.protections }) };
  if (outputs.json) writeAtomically(outputs.json, `${JSON.stringify(batch, null, 2)}\n`);
  const confinement = extra.protections && protectionsLine(extra.protections);
  writeAtomically(outputs.html, classReportHtml(lab, rows, { hidden, file: outputs.html, generated: new Date(), origin: extra.origin, confinement }));
  process.stdout.write(`class report: ${shownPath(cwd, outputs.html)}\n`);
}

async function main(): Promise<number> {
  const values = parseOptions(usage, {
    options: {
      submissions: { type: 'string' },
      lab: { type: 'string' },
      jobs: { type: 'string' },
      hidden: { type: 'boolean' },
      shard: { type: 'string' },
      csv: { type: 'string' },
      json: { type: 'string' },
      html: { type: 'string' },
      reports: { type: 'string' },
      timeout: { type: 'string' },
      sandbox: { type: 'string' },
      merge: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const cwd = process.env.INIT_CWD ?? process.cwd();
  const file = (given: string | undefined) => (given ? path.resolve(cwd, given) : undefined);

  if (values.merge) {
    for (const option of ['submissions', 'lab', 'shard', 'jobs', 'hidden', 'reports', 'timeout', 'sandbox'] as const) {
      if (values[option] !== undefined) usageError(usage, `--merge takes the lab and everything else from the shards' JSON, not --${option}`);
    }
    const dir = path.resolve(cwd, values.merge);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) usageError(usage, `there is no folder ${dir}`);
    let merged;
    try {
      merged = mergeShards(dir);
    } catch (error) {
      process.stderr.write(`merge: ${(error as Error).message}\n`);
      return 1;
    }
    const { batch, files } = merged;
    const origin = `${files.length} shard${files.length === 1 ? '' : 's'}`;
    const outputs = { csv: file(values.csv), json: file(values.json), html: file(values.html) ?? path.join(dir, 'class-report.html') };
    writeOutputs(batch.lab, batch.hidden, batch.rows, outputs, cwd, { origin, protections: batch.protections, summary: `${batch.rows.length} submission(s) merged from ${origin}` });
    return 0;
  }

  if (!values.submissions) usageError(usage, 'which submissions? --submissions DIR (or --merge DIR)');
  const submissions = path.resolve(cwd, values.submissions);
  if (!existsSync(submissions) || !statSync(submissions).isDirectory()) usageError(usage, `there is no folder ${submissions}`);
  const dir = labOption(usage, root, values.lab);
  const jobs = values.jobs === undefined ? os.availableParallelism() : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) usageError(usage, `--jobs wants a whole number of at least 1, got "${values.jobs}"`);
  const timeout = values.timeout === undefined ? 600 : Number(values.timeout);
  if (!(timeout > 0)) usageError(usage, `--timeout wants a number of seconds, got "${values.timeout}"`);
  const sandbox = (values.sandbox ?? 'auto') as BatchContext['sandbox'];
  if (!['auto', 'required', 'off'].includes(sandbox)) usageError(usage, `--sandbox is auto, required or off, not "${values.sandbox}"`);
  const choice = values.shard === undefined ? undefined : parseShard(values.shard);
  if (typeof choice === 'string') usageError(usage, choice);

  const hidden = Boolean(values.hidden);
  const lab = await loadLab(root, dir, { hidden });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const reports = values.reports ? path.resolve(cwd, values.reports) : path.join(root, '.switchboard', 'grade', stamp);
  mkdirSync(reports, { recursive: true });

  const listed = listSubmissions(submissions);
  if (listed.others.length) process.stderr.write(`not folders, so not submissions (left alone): ${listed.others.join(', ')}\n`);
  if (listed.folders.length === 0) usageError(usage, `${submissions} holds no folders: put each submission in a folder of its own`);
  const shard: Shard | undefined = choice && { ...choice, of: listed.folders.length, class: classDigest(listed.folders) };
  const folders = shard ? shardNames(listed.folders, shard) : listed.folders;
  if (shard) process.stderr.write(`shard ${shard.index}/${shard.count}: ${folders.length} of the ${shard.of} submissions\n`);

  const scratch = makeScratch('switchboard-grade');
  // What confinement this machine gives, tried once on a first plan; said above the table.
  const netns = sandbox === 'off' ? undefined : graderNetns(path.join(root, '.switchboard', 'groups'));
  let protections = protectionsOf(undefined);
  if (sandbox !== 'off') {
    openScratch(scratch);
    const trial = makePlan({ slot: 1, work: path.join(scratch, 'work', '.trial'), loopbackOnly: Boolean(netns), kit: root });
    removeTree(path.join(scratch, 'work', '.trial'));
    protections = protectionsOf(trial);
    if (sandbox === 'required' && !trial?.bwrap) {
      removeTree(scratch);
      process.stderr.write(`grade: --sandbox required, but no bubblewrap sandbox can be made here${process.platform === 'linux' ? ' (install bubblewrap; in a container, allow user namespaces)' : ` (${process.platform})`}\n`);
      return 2;
    }
  }
  process.stdout.write(`${protectionsLine(protections)}\n\n`);
  const context: BatchContext = { root, lab, hidden, submissions, scratch, reports, timeoutMs: timeout * 1000, sandbox, netns };
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
  // Each job slot has its grading user (as root): two submissions graded at once never share one.
  const freeSlots = Array.from({ length: jobs }, (_, i) => jobs - i);
  const results = await runPool(folders, jobs, async (name) => {
    progress.start(name);
    const slot = freeSlots.pop()!;
    const row = await gradeSubmission(context, name, slot).finally(() => freeSlots.push(slot));
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
  const seconds = (Date.now() - started) / 1000;
  const perMinute = seconds > 0 ? (rows.length / seconds) * 60 : 0;
  const outputs = { csv: file(values.csv), json: file(values.json), html: file(values.html) ?? path.join(reports, 'class-report.html') };
  writeOutputs(lab, hidden, rows, outputs, cwd, { shard, protections, summary: `${rows.length} submission(s) in ${seconds.toFixed(1)} s with --jobs ${jobs} (${perMinute.toFixed(1)} per minute)` });
  process.stdout.write(`each submission's report and logs: ${shownPath(cwd, reports)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`grade error: ${error.stack ?? error.message}\n`);
    process.exit(2);
  },
);
