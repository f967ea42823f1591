// The report a student reads in the terminal: a table of phases, then each failure explained
// (what was expected and what came, the steps that led there, the processes' last lines, where
// the logs are, which spec section to read), then the total.
import { Chalk } from 'chalk';
import type { PhaseResult, RunResult, TestResult } from '../results.js';

export interface Style {
  chalk: InstanceType<typeof Chalk>;
  verbose: boolean;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function mark(phase: PhaseResult, c: Style['chalk']): string {
  if (phase.status === 'passed') return c.green('✓');
  if (phase.status === 'blocked') return c.yellow('◌');
  if (phase.status === 'not run') return c.dim('·');
  return c.red('✗');
}

function indent(text: string, by = '    '): string {
  return text
    .split('\n')
    .map((line) => (line ? by + line : line))
    .join('\n');
}

export function renderTable(run: RunResult, style: Style): string {
  const c = style.chalk;
  const nameWidth = Math.max(30, ...run.phases.map((p) => p.name.length));
  const lines = [c.dim(`    ${'phase'.padEnd(nameWidth + 6)} ${'points'.padStart(7)}  ${'time'.padStart(7)}`)];
  for (const phase of run.phases) {
    const points = `${phase.points}/${phase.maxPoints}`;
    const note =
      phase.status === 'blocked' ? c.yellow(`  needs ${phase.blockedBy.join(', ')}`) : phase.status === 'not run' ? c.dim('  not run') : '';
    const colour = phase.status === 'passed' ? c.green : phase.points > 0 ? c.yellow : c.red;
    lines.push(`  ${mark(phase, c)} ${phase.id.padEnd(5)} ${phase.name.padEnd(nameWidth)} ${colour(points.padStart(7))}  ${seconds(phase.durationMs).padStart(7)}${note}`);
  }
  const total = `${run.score}/${run.maxScore}`;
  const colour = run.score === run.maxScore ? c.green.bold : c.bold;
  lines.push(`    ${'total'.padEnd(nameWidth + 6)} ${colour(total.padStart(7))}  ${seconds(run.durationMs).padStart(7)}`);
  return lines.join('\n');
}

/** The command that replays a run's random choices for one phase. */
export function replayCommand(seed: number, phaseId: string): string {
  const lab = phaseId.split('.')[0];
  const env = process.platform === 'win32' ? `$env:SWITCHBOARD_SEED=${seed}; ` : `SWITCHBOARD_SEED=${seed} `;
  return `${env}npm run lab ${lab} -- --phase ${phaseId}`;
}

function renderTest(test: TestResult, phase: PhaseResult, style: Style): string {
  const c = style.chalk;
  const out: string[] = [`${c.red('✗')} ${c.bold(test.name)}  ${c.dim(`0/${test.maxPoints}`)}`];
  const d = test.diagnostics;
  if (d?.todo) out.push(indent(c.yellow(d.todo)));
  out.push(indent(test.error ?? ''));
  if (d && d.transcript.length > 0) {
    out.push(indent(c.dim('what happened, in order:')));
    out.push(indent(d.transcript.slice(style.verbose ? 0 : -12).join('\n'), '      '));
  }
  for (const proc of d?.processes ?? []) {
    if (proc.crash) out.push(indent(`${c.bold(proc.name)} ${c.red('crashed')}: ${proc.crash}`));
    out.push(indent(`${c.bold(proc.name)}: ${proc.exit}` + (proc.lastLines.length ? '; its last lines:' : '; it printed nothing')));
    if (proc.lastLines.length) out.push(indent(proc.lastLines.slice(style.verbose ? 0 : -8).join('\n'), '      '));
    if (style.verbose) out.push(indent(c.dim(`command: ${proc.command}`), '      '));
  }
  if (d?.seed) out.push(indent(c.dim(`random choices from seed ${d.seed.run}; replay them: ${replayCommand(d.seed.run, phase.id)}`)));
  if (d?.dataDirs) out.push(indent(c.dim(`data folders kept: ${d.dataDirs.join(', ')}`)));
  if (d) out.push(indent(c.dim(`logs: ${d.logDir}`)));
  out.push(indent(c.cyan(`read: ${phase.spec}`)));
  return out.join('\n');
}

/** Each failed phase, explained. A blocked phase gets one line: fix what it needs first. */
export function renderFailures(run: RunResult, style: Style): string {
  const c = style.chalk;
  const out: string[] = [];
  for (const phase of run.phases) {
    if (phase.status === 'blocked') {
      out.push(c.yellow(`◌ ${phase.id} ${phase.name}: needs ${phase.blockedBy.join(', ')}, which failed; fix that first`) + (style.verbose ? '' : c.dim(' (--verbose shows its failures too)')));
      if (!style.verbose) continue;
    }
    if (phase.status !== 'failed' && phase.status !== 'blocked') continue;
    out.push(c.bold(`── ${phase.id} ${phase.name} ${'─'.repeat(Math.max(3, 60 - phase.name.length))}`));
    if (phase.problem) out.push(indent(phase.problem));
    for (const test of phase.tests.filter((t) => t.state === 'failed')) out.push(renderTest(test, phase, style), '');
  }
  for (const error of run.errors) out.push(c.red(`error outside any test: ${error}`));
  return out.join('\n');
}

export function renderRun(run: RunResult, style: Style): string {
  const c = style.chalk;
  const head = `${c.bold(`Switchboard · lab ${run.lab.number}: ${run.lab.title}`)}\n${c.dim(`graded: ${run.graded}`)}\n`;
  const failures = renderFailures(run, style);
  const verdict =
    run.score === run.maxScore
      ? c.green.bold(`full marks: ${run.score}/${run.maxScore}`)
      : c.bold(`score: ${run.score}/${run.maxScore}`) + c.dim('  (run one phase with --phase ID; --verbose shows more)');
  const parts = [head, renderTable(run, style), ''];
  if (failures) parts.push(failures);
  parts.push(verdict);
  return `${parts.join('\n')}\n`;
}

/** For --repeat: which phases failed in how many of the runs, with the first failure of each. */
export function renderRepeat(runs: RunResult[], style: Style): string {
  const c = style.chalk;
  const out: string[] = [c.bold(`Switchboard · lab ${runs[0]!.lab.number}: ${runs.length} runs`)];
  const ids = runs[0]!.phases.map((p) => p.id);
  const nameWidth = Math.max(30, ...runs[0]!.phases.map((p) => p.name.length));
  const flaky: string[] = [];
  for (const id of ids) {
    const failures = runs.filter((run) => run.phases.find((p) => p.id === id)!.status !== 'passed');
    const phase = runs[0]!.phases.find((p) => p.id === id)!;
    const line = `${phase.id.padEnd(5)} ${phase.name.padEnd(nameWidth)} failed in ${failures.length} of ${runs.length} runs`;
    out.push(`  ${failures.length === 0 ? c.green('✓') : c.red('✗')} ${failures.length === 0 ? line : c.red(line)}`);
    if (failures.length > 0) flaky.push(id);
  }
  for (const id of flaky) {
    const index = runs.findIndex((run) => run.phases.find((p) => p.id === id)!.status !== 'passed');
    const run = runs[index]!;
    const only = { ...run, phases: run.phases.filter((p) => p.id === id) };
    out.push('', c.dim(`first failure of ${id}, in run ${index + 1}:`), renderFailures(only, style));
  }
  const perfect = runs.filter((run) => run.score === run.maxScore).length;
  out.push('', perfect === runs.length ? c.green.bold(`full marks in all ${runs.length} runs`) : c.bold(`full marks in ${perfect} of ${runs.length} runs`));
  return out.join('\n') + '\n';
}
