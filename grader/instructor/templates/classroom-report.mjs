// Turns the grader's JSON report into what GitHub Classroom's reporter action reads: one test
// per phase with the points it earned, base64-encoded in this step's output `result`. Also
// writes the phases as a table to the job summary, and prints it.
//
//   node .github/classroom/report.mjs RESULTS.json
import { appendFileSync, readFileSync } from 'node:fs';

const file = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  report = undefined;
  console.error(`no grader report in ${file}: ${error.message}`);
}

/** The first failure of a phase, in a few lines. */
function firstFailure(phase) {
  if (phase.status === 'blocked') return `needs ${phase.blockedBy.join(', ')}, which failed: fix that first`;
  if (phase.problem) return phase.problem;
  const test = phase.tests.find((t) => t.state === 'failed');
  if (!test) return phase.status;
  const why = [test.diagnostics?.todo, test.error].filter(Boolean).join('\n');
  return `${test.name}\n${why.split('\n').slice(0, 12).join('\n')}`;
}

let result;
let summary;
if (report) {
  result = {
    version: 1,
    status: report.score === report.maxScore && report.errors.length === 0 ? 'pass' : 'fail',
    max_score: report.maxScore,
    tests: report.phases.map((phase) => ({
      name: `${phase.id} ${phase.name}`,
      status: phase.status === 'passed' ? 'pass' : 'fail',
      score: phase.points,
      message: phase.status === 'passed' ? `${phase.points}/${phase.maxPoints}` : firstFailure(phase),
      execution_time: `${(phase.durationMs / 1000).toFixed(1)}s`,
    })),
  };
  const cell = (text) => String(text).replace(/\|/g, '\\|');
  const lines = [
    `### Lab ${report.lab.number}: ${cell(report.lab.title)}: ${report.score}/${report.maxScore}`,
    '',
    '| | phase | what | points |',
    '|---|---|---|---|',
    ...report.phases.map((p) => `| ${p.status === 'passed' ? '✅' : p.status === 'blocked' ? '⏸️' : '❌'} | ${p.id} | ${cell(p.name)} | ${p.points}/${p.maxPoints} |`),
  ];
  for (const phase of report.phases.filter((p) => p.status !== 'passed' && p.status !== 'blocked')) {
    lines.push('', `<details><summary>${phase.id}: why points were lost</summary>`, '', '```', firstFailure(phase).replace(/```/g, "'''"), '```', '</details>');
  }
  lines.push('', `Run \`npm run lab ${report.lab.number}\` on your machine for the full explanations.`);
  summary = lines.join('\n');
} else {
  result = {
    version: 1,
    status: 'error',
    max_score: 0,
    tests: [{ name: 'grader', status: 'error', score: 0, message: 'The grader wrote no report: read the log of the step "Grade lab".' }],
  };
  summary = '### The grader wrote no report\n\nRead the log of the step "Grade lab".';
}

console.log(summary);
if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, `result=${Buffer.from(JSON.stringify(result)).toString('base64')}\n`);
if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, `${summary}\n`);
