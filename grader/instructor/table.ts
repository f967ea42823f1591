// The batch's table in the terminal: a row per submission, a column per phase, the total, and
// the reason in one line, cut to the terminal's width.
import type { Chalk } from 'chalk';
import { sortRows, type BatchLab, type Row } from './rows.js';

export function renderRows(lab: BatchLab, rows: Row[], chalk: InstanceType<typeof Chalk>, width = 120): string {
  const sorted = sortRows(rows);
  const nameWidth = Math.min(28, Math.max(10, ...sorted.map((r) => r.name.length)));
  const ids = lab.phases.map((p) => p.id);
  const cell = (text: string, w: number) => text.padStart(w);
  const columns = ids.map((id) => Math.max(id.length, 3));
  const header = [`${'submission'.padEnd(nameWidth)}`, ...ids.map((id, i) => cell(id, columns[i]!)), cell('total', 7), ' reason'].join(' ');
  const lines = [chalk.bold(header)];
  for (const row of sorted) {
    const graded = row.status === 'graded';
    const points = ids.map((id, i) => cell(graded ? String(row.points[id] ?? 0) : '-', columns[i]!));
    const total = cell(graded ? `${row.score}/${row.maxScore}` : '-', 7);
    const colour = !graded ? chalk.red : row.score === row.maxScore ? chalk.green : row.score > 0 ? chalk.yellow : chalk.red;
    const name = row.name.length > nameWidth ? `${row.name.slice(0, nameWidth - 1)}…` : row.name.padEnd(nameWidth);
    const start = [name, ...points, colour(total)].join(' ');
    const used = nameWidth + points.reduce((sum, p) => sum + p.length + 1, 0) + 8;
    const room = Math.max(20, width - used - 2);
    const reason = row.status === 'graded' ? row.reason : `${row.status}: ${row.reason}`;
    lines.push(reason ? `${start}  ${chalk.dim(reason.length > room ? `${reason.slice(0, room - 1)}…` : reason)}` : start);
  }
  return `${lines.join('\n')}\n`;
}
