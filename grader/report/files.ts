// The report files: the kit's own JSON, Gradescope's results.json, and JUnit XML for CI. Each
// is written atomically (a temporary file, then a rename) after every process of the run is gone.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PhaseResult, RunResult, TestResult } from '../results.js';

export const jsonSchemaId = 'switchboard/results@1';

export function writeAtomically(file: string, text: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, file);
}

/** Plain text of one failed test, for the report files (no colours). */
export function failureText(test: TestResult, phase: PhaseResult): string {
  const d = test.diagnostics;
  const parts = [d?.todo, test.error];
  if (d?.transcript.length) parts.push(`what happened, in order:\n${d.transcript.slice(-12).join('\n')}`);
  for (const proc of d?.processes ?? []) {
    if (proc.crash) parts.push(`${proc.name} crashed: ${proc.crash}`);
    parts.push(`${proc.name}: ${proc.exit}${proc.lastLines.length ? `\n${proc.lastLines.slice(-8).join('\n')}` : ''}`);
  }
  if (test.trace) parts.push(`trace (a space-time diagram of the test; open it in a browser): ${test.trace}`);
  if (d?.seed) parts.push(`random choices from seed ${d.seed.run}; replay them with SWITCHBOARD_SEED=${d.seed.run} npm run lab ${phase.id.split('.')[0]} -- --phase ${phase.id}`);
  parts.push(`read: ${phase.spec}`);
  return parts.filter(Boolean).join('\n');
}

export function toJson(runs: RunResult[]): object {
  const last = runs[runs.length - 1]!;
  return {
    schema: jsonSchemaId,
    lab: last.lab,
    graded: last.graded,
    score: last.score,
    maxScore: last.maxScore,
    durationMs: last.durationMs,
    logs: last.runDir,
    seed: last.seed,
    phases: last.phases,
    errors: last.errors,
    ...(last.protections && { protections: last.protections }),
    ...(runs.length > 1 && {
      repeat: {
        runs: runs.length,
        fullMarks: runs.filter((r) => r.score === r.maxScore).length,
        failures: Object.fromEntries(last.phases.map((p) => [p.id, runs.filter((r) => r.phases.find((q) => q.id === p.id)?.status !== 'passed').length])),
      },
    }),
  };
}

/** Gradescope's results.json: one entry per phase, with the explanation of its failures as output. */
export function toGradescope(run: RunResult, options: { visibility?: string } = {}): object {
  return {
    score: run.score,
    max_score: run.maxScore,
    execution_time: Math.round(run.durationMs / 1000),
    output: run.errors.length ? run.errors.join('\n') : `lab ${run.lab.number}: ${run.score}/${run.maxScore}`,
    visibility: options.visibility ?? 'visible',
    tests: run.phases.map((phase) => ({
      name: `${phase.id} ${phase.name}`,
      number: phase.id,
      score: phase.points,
      max_score: phase.maxPoints,
      status: phase.status === 'passed' ? 'passed' : 'failed',
      output: phaseOutput(phase),
    })),
  };
}

function phaseOutput(phase: PhaseResult): string {
  if (phase.status === 'passed') return phase.tests.map((t) => `✓ ${t.name}`).join('\n');
  if (phase.status === 'not run') return 'not run';
  const lines = phase.tests.map((t) => `${t.state === 'passed' ? '✓' : '✗'} ${t.name} (${t.points}/${t.maxPoints})`);
  if (phase.status === 'blocked') lines.unshift(`needs ${phase.blockedBy.join(', ')}, which failed: fix that first.`);
  if (phase.problem) lines.push(phase.problem);
  for (const test of phase.tests.filter((t) => t.state === 'failed')) lines.push('', `${test.name}:`, failureText(test, phase));
  return lines.join('\n');
}

function xml(text: string): string {
  // Characters XML 1.0 cannot hold at all are dropped; the rest are escaped.
  return text
    .replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

export function toJunit(run: RunResult): string {
  const tests = run.phases.flatMap((p) => p.tests.map((t) => ({ t, p })));
  const failures = tests.filter(({ t }) => t.state === 'failed').length;
  const skipped = tests.filter(({ t }) => t.state === 'skipped').length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="switchboard lab ${run.lab.number}" tests="${tests.length}" failures="${failures}" time="${(run.durationMs / 1000).toFixed(3)}">`,
    `  <testsuite name="lab ${run.lab.number}: ${xml(run.lab.title)}" tests="${tests.length}" failures="${failures}" skipped="${skipped}" time="${(run.durationMs / 1000).toFixed(3)}">`,
    `    <properties><property name="score" value="${run.score}"/><property name="max_score" value="${run.maxScore}"/></properties>`,
  ];
  for (const { t, p } of tests) {
    lines.push(`    <testcase classname="lab${run.lab.number}.${p.id}" name="${xml(t.name)}" time="${(t.durationMs / 1000).toFixed(3)}">`);
    lines.push(`      <properties><property name="points" value="${t.points}"/><property name="max_points" value="${t.maxPoints}"/></properties>`);
    if (t.state === 'failed') lines.push(`      <failure message="${xml((t.error ?? '').split('\n')[0]!)}">${xml(failureText(t, p))}</failure>`);
    if (t.state === 'skipped') lines.push('      <skipped/>');
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
