// The class report: one HTML page for a graded batch, which an instructor opens instead of the
// CSV. It shows how the totals spread (a histogram), how many submissions passed each phase, the
// most common first failures (similar messages grouped: quoted text and numbers set aside), and
// a row per submission with a link to its report. The page is self-contained: its style and its
// one small script (sorting and filtering the table) are inline, and its Content-Security-Policy
// lets it load nothing, so it opens the same from a CI artifact, an email or a laptop offline.
//
// Everything a student's program could have influenced (names, reasons) is escaped.
import path from 'node:path';
import { maxScore, sortRows, type BatchLab, type Row } from './rows.js';

export interface ClassReportOptions {
  hidden: boolean;
  /** Where the page is written: its links to the reports are relative to it. */
  file: string;
  generated: Date;
  /** "8 shards", when the batch was merged from several. */
  origin?: string;
  /** What confined the submissions' programs, or that nothing did (grader/sandbox). */
  confinement?: string;
}

function escape(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The group a first failure belongs to: its message with quoted text and numbers replaced, so
 * that "expected 20 lines, got 13" and "expected 20 lines, got 7" count as one. A test's name
 * before the first ": " is kept as it is, phase id included, and so are numbers inside a name
 * (starter/01-echo).
 */
export function failureGroup(reason: string): string {
  const colon = reason.indexOf(': ');
  const [head, rest] = colon < 0 ? ['', reason] : [reason.slice(0, colon + 2), reason.slice(colon + 2)];
  return head + rest.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '"…"').replace(/(?<![\w/.-])\d+(?:\.\d+)?(?![\w/-])/g, 'N');
}

export interface Histogram {
  /** "0–9", ..., "90–99", "100" for a lab of 100 points: ten equal ranges below full marks, and full marks. */
  label: string;
  count: number;
}

export function histogram(rows: Row[], max: number): Histogram[] {
  const width = max / 10;
  const bins: Histogram[] = Array.from({ length: 10 }, (_, i) => {
    const low = Math.ceil(i * width);
    const high = Math.ceil((i + 1) * width) - 1;
    return { label: low === high ? `${low}` : `${low}–${high}`, count: 0 };
  });
  bins.push({ label: `${max}`, count: 0 });
  for (const row of rows) bins[row.score >= max ? 10 : Math.min(9, Math.floor(row.score / width))]!.count++;
  return bins;
}

export interface PhaseRate {
  id: string;
  name: string;
  points: number;
  hidden: boolean;
  /** Graded submissions with every point of the phase. */
  passed: number;
  graded: number;
  meanPoints: number;
}

export function phaseRates(lab: BatchLab, rows: Row[]): PhaseRate[] {
  const graded = rows.filter((r) => r.status === 'graded');
  return lab.phases.map((p) => ({
    id: p.id,
    name: p.name,
    points: p.points,
    hidden: Boolean(p.hidden),
    passed: graded.filter((r) => (r.points[p.id] ?? 0) >= p.points).length,
    graded: graded.length,
    meanPoints: graded.length ? graded.reduce((sum, r) => sum + (r.points[p.id] ?? 0), 0) / graded.length : 0,
  }));
}

export interface FailureGroup {
  message: string;
  /** The submissions whose first failure it is, by name. */
  names: string[];
}

/** The first failures, grouped, most common first (then by message); rows at full marks have none. */
export function commonFailures(rows: Row[]): FailureGroup[] {
  const groups = new Map<string, string[]>();
  for (const row of sortRows(rows)) {
    if (!row.reason) continue;
    const message = failureGroup(row.status === 'graded' ? row.reason : `${row.status}: ${row.reason}`);
    groups.set(message, [...(groups.get(message) ?? []), row.name]);
  }
  return [...groups]
    .map(([message, names]) => ({ message, names }))
    .sort((a, b) => b.names.length - a.names.length || a.message.localeCompare(b.message));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? 0 : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function percent(part: number, whole: number): string {
  return whole ? `${Math.round((part / whole) * 100)}%` : '–';
}

/** A link from the page to a submission's report, as a relative URL. */
function reportLink(file: string, report: string): string {
  return path
    .relative(path.dirname(file), path.join(report, 'report.txt'))
    .split(path.sep)
    .map(encodeURIComponent)
    .join('/');
}

const style = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #1d2430; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.15em; margin-top: 2em; }
.meta { color: #5b6575; } .figures { display: flex; gap: 2em; flex-wrap: wrap; margin: 1em 0; }
.figure b { display: block; font-size: 1.6em; }
.histogram { display: flex; align-items: flex-end; gap: 4px; height: 12em; border-bottom: 1px solid #9aa3b0; }
.bin { flex: 1; display: flex; flex-direction: column; justify-content: flex-end; align-items: center; height: 100%; }
.bin .bar { width: 100%; background: #4a7bd0; min-height: 1px; } .bin.full .bar { background: #2e9d5b; }
.bin .count { font-size: .85em; } .labels { display: flex; gap: 4px; } .labels span { flex: 1; text-align: center; font-size: .8em; color: #5b6575; }
table { border-collapse: collapse; width: 100%; } th, td { padding: .3em .5em; border-bottom: 1px solid #e1e5eb; text-align: left; vertical-align: top; }
th { background: #f3f5f8; } th.sortable { cursor: pointer; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.rate { display: inline-block; height: .8em; background: #4a7bd0; vertical-align: middle; } .rate-box { width: 12em; background: #e1e5eb; display: inline-block; }
.full-marks { color: #1f7a44; } .zero { color: #b3261e; } .reason { color: #5b6575; max-width: 40em; }
.hidden-phase { font-style: italic; } code { font-size: .95em; }
input[type=search] { padding: .3em .5em; width: 20em; margin-bottom: .5em; }
`;

// Sorting by a column (click its header; again to reverse) and filtering rows by any text.
const script = `
const table = document.getElementById('submissions');
const body = table.tBodies[0];
table.querySelectorAll('th.sortable').forEach((th, column) => {
  th.addEventListener('click', () => {
    const down = th.dataset.order !== 'asc';
    table.querySelectorAll('th.sortable').forEach((other) => delete other.dataset.order);
    th.dataset.order = down ? 'asc' : 'desc';
    const key = (row) => row.cells[column].dataset.value ?? row.cells[column].textContent;
    const numeric = th.classList.contains('num');
    const rows = [...body.rows].sort((a, b) => {
      const [x, y] = [key(a), key(b)];
      const order = numeric ? Number(x) - Number(y) : x.localeCompare(y, 'en', { numeric: true });
      return down ? order : -order;
    });
    body.append(...rows);
  });
});
document.getElementById('filter').addEventListener('input', (event) => {
  const wanted = event.target.value.toLowerCase();
  for (const row of body.rows) row.hidden = wanted !== '' && !row.textContent.toLowerCase().includes(wanted);
});
`;

export function classReportHtml(lab: BatchLab, rows: Row[], options: ClassReportOptions): string {
  const sorted = sortRows(rows);
  const max = maxScore(lab);
  const graded = sorted.filter((r) => r.status === 'graded');
  const scores = graded.map((r) => r.score);
  const mean = scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : 0;
  const full = graded.filter((r) => r.score === max).length;
  const bins = histogram(graded, max);
  const tallest = Math.max(1, ...bins.map((b) => b.count));
  const rates = phaseRates(lab, sorted);
  const failures = commonFailures(sorted).slice(0, 12);
  const anchor = new Map(sorted.map((r, i) => [r.name, `s${i + 1}`]));
  const title = `Lab ${lab.number}: ${lab.title} — class report`;

  const figure = (value: string | number, label: string) => `<div class="figure"><b>${escape(value)}</b>${escape(label)}</div>`;
  const histogramHtml = [
    `<div class="histogram" role="img" aria-label="How many submissions scored in each range of points">`,
    ...bins.map(
      (b, i) =>
        `<div class="bin${i === 10 ? ' full' : ''}" data-range="${escape(b.label)}" data-count="${b.count}" title="${escape(`${b.count} scored ${b.label}`)}"><span class="count">${b.count || ''}</span><div class="bar" style="height:${((b.count / tallest) * 90).toFixed(1)}%"></div></div>`,
    ),
    `</div><div class="labels">${bins.map((b) => `<span>${escape(b.label)}</span>`).join('')}</div>`,
  ].join('\n');

  const ratesHtml = [
    '<table id="phases"><thead><tr><th>phase</th><th class="num">points</th><th colspan="2">passed (every point of the phase)</th><th class="num">mean points</th></tr></thead><tbody>',
    ...rates.map(
      (r) =>
        `<tr data-phase="${escape(r.id)}" data-passed="${r.passed}" data-graded="${r.graded}"${r.hidden ? ' class="hidden-phase"' : ''}><td>${escape(`${r.id} ${r.name}`)}${r.hidden ? ' (hidden)' : ''}</td><td class="num">${r.points}</td>` +
        `<td><span class="rate-box"><span class="rate" style="width:${r.graded ? ((r.passed / r.graded) * 100).toFixed(1) : 0}%"></span></span></td>` +
        `<td class="num">${r.passed}/${r.graded} (${percent(r.passed, r.graded)})</td><td class="num">${r.meanPoints.toFixed(1)}</td></tr>`,
    ),
    '</tbody></table>',
  ].join('\n');

  const failuresHtml = failures.length
    ? [
        '<table id="failures"><thead><tr><th class="num">submissions</th><th>first failure</th><th>who</th></tr></thead><tbody>',
        ...failures.map(
          (f) =>
            `<tr data-count="${f.names.length}"><td class="num">${f.names.length}</td><td><code>${escape(f.message)}</code></td><td>${f.names
              .slice(0, 8)
              .map((n) => `<a href="#${anchor.get(n)}">${escape(n)}</a>`)
              .join(', ')}${f.names.length > 8 ? `, and ${f.names.length - 8} more` : ''}</td></tr>`,
        ),
        '</tbody></table>',
      ].join('\n')
    : '<p>No submission lost a point.</p>';

  const phaseHeads = lab.phases.map((p) => `<th class="sortable num" title="${escape(`${p.name}, ${p.points} points`)}">${escape(p.id)}</th>`).join('');
  const rowsHtml = sorted.map((r) => {
    const isGraded = r.status === 'graded';
    const points = lab.phases.map((p) => `<td class="num" data-value="${isGraded ? (r.points[p.id] ?? 0) : -1}">${isGraded ? (r.points[p.id] ?? 0) : '–'}</td>`).join('');
    const cls = !isGraded || r.score === 0 ? 'zero' : r.score === max ? 'full-marks' : '';
    const reason = isGraded ? r.reason : `${r.status}: ${r.reason}`;
    const link = r.report ? `<a href="${escape(reportLink(options.file, r.report))}">report</a>` : '';
    return (
      `<tr id="${anchor.get(r.name)}" data-name="${escape(r.name)}"><td>${escape(r.name)}</td>${points}` +
      `<td class="num ${cls}" data-value="${isGraded ? r.score : -1}">${isGraded ? `${r.score}/${r.maxScore}` : '–'}</td><td class="reason">${escape(reason)}</td><td>${link}</td></tr>`
    );
  });

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>${style}</style>
</head>
<body>
<h1>${escape(title)}</h1>
<p class="meta">${escape(`${options.hidden ? 'With the hidden tests' : 'Public tests only'}; ${max} points. Graded ${options.generated.toISOString().replace('T', ' ').slice(0, 16)} UTC${options.origin ? `, merged from ${options.origin}` : ''}.`)}</p>${options.confinement ? `\n<p class="meta">${escape(options.confinement)}</p>` : ''}
<div class="figures">
${figure(sorted.length, 'submissions')}
${figure(graded.length, 'graded')}
${figure(mean.toFixed(1), 'mean')}
${figure(median(scores), 'median')}
${figure(`${full} (${percent(full, graded.length)})`, 'full marks')}
</div>
<h2>Totals</h2>
${histogramHtml}
<h2>Each phase</h2>
${ratesHtml}
<h2>The most common first failures</h2>
${failuresHtml}
<h2>Every submission</h2>
<input type="search" id="filter" placeholder="filter: a name, a phase, a message" aria-label="filter the submissions">
<table id="submissions"><thead><tr><th class="sortable">submission</th>${phaseHeads}<th class="sortable num">total</th><th class="sortable">first lost points</th><th></th></tr></thead><tbody>
${rowsHtml.join('\n')}
</tbody></table>
<script>${script}</script>
</body>
</html>
`;
}
