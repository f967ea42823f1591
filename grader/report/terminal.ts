// The report a student reads in the terminal: each failure explained (what was expected and what
// came, the steps that led there, the processes' last lines, where the logs are, which spec
// section to read; a TODO said once for every test it fails), then the table of phases and the
// total, last, where the student's eye is when the run ends.
import path from 'node:path';
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
      phase.status === 'blocked' ? c.yellow(`  not run: needs ${phase.blockedBy.join(', ')}`) : phase.status === 'not run' ? c.dim('  not run') : '';
    const colour = phase.status === 'passed' ? c.green : phase.points > 0 ? c.yellow : c.red;
    const time = phase.status === 'blocked' || phase.status === 'not run' ? '' : seconds(phase.durationMs);
    lines.push(`  ${mark(phase, c)} ${phase.id.padEnd(5)} ${phase.name.padEnd(nameWidth)} ${colour(points.padStart(7))}  ${time.padStart(7)}${note}`);
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

/** A process's last lines that the error text does not already quote. */
function unquoted(lines: string[], error: string): string[] {
  return lines.filter((line) => !error.includes(line));
}

function renderTest(test: TestResult, phase: PhaseResult, style: Style): string {
  const c = style.chalk;
  const out: string[] = [`${c.red('✗')} ${c.bold(test.name)}  ${c.dim(`0/${test.maxPoints}`)}`];
  const d = test.diagnostics;
  const error = test.error ?? '';
  if (d?.todo) out.push(indent(c.yellow(d.todo)));
  out.push(indent(error));
  const steps = style.verbose ? (d?.allSteps ?? d?.transcript) : d?.transcript;
  if (steps && steps.length > 0) {
    out.push(indent(c.dim('what happened, in order:')));
    out.push(indent(steps.join('\n'), '      '));
  }
  for (const proc of d?.processes ?? []) {
    if (proc.crash) out.push(indent(`${c.bold(proc.name)} ${c.red('crashed')}: ${proc.crash}`));
    const lines = style.verbose ? proc.lastLines : unquoted(proc.lastLines, error).slice(-8);
    const said = proc.lastLines.length === 0 ? '; it printed nothing' : lines.length ? '; its last lines:' : '';
    out.push(indent(`${c.bold(proc.name)}: ${proc.exit}${said}`));
    if (lines.length) out.push(indent(lines.join('\n'), '      '));
    if (style.verbose) out.push(indent(c.dim(`command: ${proc.command}`), '      '));
  }
  if (d?.seed) out.push(indent(c.dim(`random choices from seed ${d.seed.run}; replay them: ${replayCommand(d.seed.run, phase.id)}`)));
  if (d?.dataDirs) out.push(indent(c.dim(`data folders kept: ${d.dataDirs.join(', ')}`)));
  if (d) out.push(indent(c.dim(`logs: ${d.logDir}`)));
  if (test.trace) out.push(indent(`${c.cyan('trace:')} ${test.trace}  ${c.dim('(open it in a browser: who sent what to whom, and where it went wrong)')}`));
  out.push(indent(c.cyan(`read: ${phase.spec}`)));
  return out.join('\n');
}

/** "1.1–1.4" for a run of consecutive phases of the lab, "1.1, 1.5" otherwise. */
function phaseRange(ids: string[], order: string[]): string {
  const sorted = [...ids].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const parts: string[][] = [];
  for (const id of sorted) {
    const last = parts[parts.length - 1];
    if (last && order.indexOf(id) === order.indexOf(last[last.length - 1]!) + 1) last.push(id);
    else parts.push([id]);
  }
  return parts.map((run) => (run.length > 2 ? `${run[0]}–${run[run.length - 1]}` : run.join(', '))).join(', ');
}

/**
 * Failures that are all one TODO, said once: "1.1–1.4 not started: handleConnection in server.ts
 * is still a TODO", then one line per test it failed. Returns what it said and which phases it covered.
 */
function renderTodos(run: RunResult, style: Style): { lines: string[]; covered: Set<string> } {
  const c = style.chalk;
  const byTodo = new Map<string, { phases: Set<string>; tests: TestResult[] }>();
  for (const phase of run.phases) {
    const failed = phase.tests.filter((t) => t.state === 'failed');
    if (phase.status !== 'failed' || phase.problem || failed.length === 0 || !failed.every((t) => t.diagnostics?.todo)) continue;
    for (const test of failed) {
      const todo = test.diagnostics!.todo!.replace(/^phase [\d.]+ not started: /, '');
      const group = byTodo.get(todo) ?? { phases: new Set(), tests: [] };
      group.phases.add(phase.id);
      group.tests.push(test);
      byTodo.set(todo, group);
    }
  }
  const lines: string[] = [];
  const covered = new Set<string>();
  const order = run.phases.map((p) => p.id);
  for (const [todo, group] of byTodo) {
    // Phases that were not run because they need one of these come under the same TODO.
    const phases = new Set(group.phases);
    for (let grew = true; grew; ) {
      grew = false;
      for (const p of run.phases) {
        if (p.status !== 'blocked' || phases.has(p.id) || covered.has(p.id) || !p.blockedBy.every((id) => phases.has(id))) continue;
        phases.add(p.id);
        grew = true;
      }
    }
    for (const id of phases) covered.add(id);
    lines.push(c.yellow(`◌ ${phaseRange([...phases], order)} not started: ${todo}`));
    for (const test of group.tests) lines.push(`    ${c.red('✗')} ${test.name}  ${c.dim(`0/${test.maxPoints}`)}`);
    const first = run.phases.find((p) => group.phases.has(p.id))!;
    lines.push(indent(c.cyan(`read: ${first.spec}`)));
  }
  return { lines, covered };
}

/** Each failed phase, explained. A phase that was not run because it needs a failed one gets one line. */
export function renderFailures(run: RunResult, style: Style): string {
  const c = style.chalk;
  const todos = renderTodos(run, style);
  const out: string[] = [...todos.lines];
  if (todos.lines.length) out.push('');
  for (const phase of run.phases) {
    if (todos.covered.has(phase.id)) continue;
    if (phase.status === 'blocked') {
      out.push(c.yellow(`◌ ${phase.id} ${phase.name}: not run, it needs ${phase.blockedBy.join(', ')}, which failed; fix that first`));
      continue;
    }
    if (phase.status !== 'failed') continue;
    out.push(c.bold(`── ${phase.id} ${phase.name} ${'─'.repeat(Math.max(3, 60 - phase.name.length))}`));
    if (phase.problem) out.push(indent(phase.problem));
    for (const test of phase.tests.filter((t) => t.state === 'failed')) out.push(renderTest(test, phase, style), '');
  }
  for (const error of run.errors) out.push(c.red(`error outside any test: ${error}`));
  return out.join('\n').replace(/\n+$/, '');
}

export function renderRun(run: RunResult, style: Style): string {
  const c = style.chalk;
  const head = `${c.bold(`Switchboard · lab ${run.lab.number}: ${run.lab.title}`)}\n${c.dim(`graded: ${run.graded}`)}\n`;
  const parts = [head];
  if (run.warnings.length) {
    parts.push(c.yellow('warnings (they cost no points, but may explain a failure):'), ...run.warnings.map((w) => indent(w, '  ')), '');
  }
  const failures = renderFailures(run, style);
  if (failures) parts.push(failures, '');
  // The table comes last, next to the prompt, where a long report cannot scroll it away.
  parts.push(renderTable(run, style), '');
  const traced = run.phases.flatMap((p) => p.tests).filter((t) => t.trace && t.state !== 'failed');
  if (traced.length) parts.push(c.dim(`traces of ${traced.length} passed test${traced.length === 1 ? '' : 's'} (--trace): ${path.dirname(path.dirname(traced[0]!.trace!))}/*/trace.html`));
  const verdict =
    run.score === run.maxScore
      ? c.green.bold(`full marks: ${run.score}/${run.maxScore}`)
      : c.bold(`score: ${run.score}/${run.maxScore}`) + c.dim('  (run one phase with --phase ID; --verbose shows more)');
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
    const line = `${phase.id.padEnd(5)} ${phase.name.padEnd(nameWidth)}  failed in ${failures.length} of ${runs.length} run${runs.length === 1 ? '' : 's'}`;
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
