// One row per submission: its points per phase, its total, and in one line the reason it lost
// points first (or could not be graded at all). The same rows become the terminal table, the CSV
// and the JSON, always sorted by submission name, so that neither the order the folders were
// listed in nor how many ran at once changes a byte of the output.
import path from 'node:path';
import type { RunResult } from '../results.js';
import type { Protections } from '../sandbox/index.js';
import type { Layout } from './submissions.js';

/** What the batch's outputs need of a lab (a LabSpec has it; so does a batch's JSON). */
export interface BatchLab {
  number: number;
  dir: string;
  title: string;
  phases: { id: string; name: string; points: number; hidden?: boolean }[];
}

/** One part of a batch split across machines: shard `index` of `count`, of `of` submissions in all. */
export interface Shard {
  index: number;
  count: number;
  of: number;
  /** A digest of every submission's name (shard.ts): the shards of one batch have the same. */
  class: string;
}

export type RowStatus = 'graded' | 'failed to run' | 'not a submission';

export interface Row {
  /** The submission's folder name. */
  name: string;
  layout: Layout;
  status: RowStatus;
  score: number;
  maxScore: number;
  /** Phase id to points earned; every phase of the lab is present (0 where nothing was earned). */
  points: Record<string, number>;
  /** Why points were lost or the submission was not graded; empty at full marks. */
  reason: string;
  durationMs: number;
  /**
   * The folder with this submission's report.txt, results.json and run logs, when it was graded:
   * absolute in memory; in the JSON, relative to the JSON file's folder, so that the two can move
   * together (a CI artifact).
   */
  report?: string;
}

export const batchSchemaId = 'switchboard/batch@1';

/** The start of a message: its first line, and the next one too when the first ends in a colon. */
function opening(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length > 1 && lines[0]!.endsWith(':')) return `${lines[0]} ${lines[1]}`;
  return lines[0] ?? '';
}

/** The first thing that cost a run points, in one line. */
export function firstLoss(run: RunResult): string {
  if (run.errors.length) return opening(run.errors[0]!);
  for (const phase of run.phases) {
    if (phase.status === 'passed' || phase.status === 'blocked') continue;
    if (phase.problem) return `${phase.id}: ${opening(phase.problem)}`;
    const test = phase.tests.find((t) => t.state === 'failed');
    if (!test) continue;
    if (test.diagnostics?.todo) return test.diagnostics.todo;
    return `${test.name}: ${opening(test.error ?? 'failed')}`;
  }
  return '';
}

/** A row with nothing earned: for a folder that is not a submission, or a run that wrote no report. */
export function emptyRow(lab: BatchLab, fields: Pick<Row, 'name' | 'layout' | 'status' | 'reason' | 'durationMs'> & { report?: string }): Row {
  const points = Object.fromEntries(lab.phases.map((p) => [p.id, 0]));
  return { ...fields, score: 0, maxScore: maxScore(lab), points };
}

export function maxScore(lab: BatchLab): number {
  return lab.phases.reduce((sum, p) => sum + p.points, 0);
}

export function sortRows(rows: Row[]): Row[] {
  return [...rows].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

/** A CSV field; text that a spreadsheet would run as a formula is prefixed with a quote mark. */
function field(value: string | number): string {
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(lab: BatchLab, rows: Row[]): string {
  const ids = lab.phases.map((p) => p.id);
  const lines = [['submission', 'layout', 'status', ...ids, 'total', 'max', 'reason', 'seconds'].map(field).join(',')];
  for (const row of sortRows(rows)) {
    const cells = [row.name, row.layout, row.status, ...ids.map((id) => row.points[id] ?? 0), row.score, row.maxScore, row.reason, (row.durationMs / 1000).toFixed(1)];
    lines.push(cells.map(field).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** The batch as JSON (switchboard/batch@1), to be written to `file`; `shard` when it is one part of a batch. */
export function toBatchJson(lab: BatchLab, hidden: boolean, rows: Row[], file: string, shard?: Shard): object {
  const relative = (report: string) => path.relative(path.dirname(file), report).split(path.sep).join('/');
  return {
    schema: batchSchemaId,
    lab: { number: lab.number, dir: lab.dir, title: lab.title },
    hidden,
    ...(shard && { shard }),
    phases: lab.phases.map((p) => ({ id: p.id, name: p.name, points: p.points, hidden: Boolean(p.hidden) })),
    maxScore: maxScore(lab),
    submissions: sortRows(rows).map((row) => (row.report ? { ...row, report: relative(row.report) } : row)),
  };
}

export interface Batch {
  lab: BatchLab;
  hidden: boolean;
  shard?: Shard;
  /** With each report folder made absolute again. */
  rows: Row[];
  /** What confined the submissions' programs, as the batch recorded it. */
  protections?: Protections;
}

/** A batch read back from its JSON file; throws with the file's name when it is not one. */
export function readBatch(file: string, text: string): Batch {
  const json = JSON.parse(text) as { schema?: string; lab: Omit<BatchLab, 'phases'>; hidden: boolean; shard?: Shard; phases: BatchLab['phases']; submissions: Row[]; protections?: Protections };
  if (json.schema !== batchSchemaId) throw new Error(`${file} is not a batch's JSON (its schema is ${JSON.stringify(json.schema)}, not ${batchSchemaId})`);
  const rows = json.submissions.map((row) => (row.report ? { ...row, report: path.resolve(path.dirname(file), row.report) } : row));
  return { lab: { ...json.lab, phases: json.phases }, hidden: json.hidden, shard: json.shard, rows, ...(json.protections && { protections: json.protections }) };
}
