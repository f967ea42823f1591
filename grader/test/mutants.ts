// Mutants: the kit's standing measure of how strong its phase tests are.
//
//   npm run mutants                      every lab's mutants, caught/total per lab
//   npm run mutants -- --lab 2           one lab's
//   npm run mutants -- --only quit       the mutants whose file name contains "quit"
//   npm run mutants -- --jobs 2          two at a time (default 1: the grader runs several processes)
//
// A mutant is the reference solution with one plausible student bug in it. Each is a file
// grader/test/fixtures/mutants/NN-name/<short-name>.patch: a unified diff against
// solutions/NN-name/, headed by comment lines that say what the bug is and what it must lose:
//
//   # The server keeps handling lines that arrive after /quit.
//   # loses: 2.2 unknown commands are errors; /quit says bye and closes
//   # loses: 2.8
//   # fast
//   --- a/connection.ts
//   +++ b/connection.ts
//   @@ -58,7 +58,7 @@
//   ...
//
// - The header is every line at the top that starts with "#". It opens with the bug, in a
//   sentence or a few lines.
// - `# loses: ENTRY`, one line per entry: a full test name ("2.2 unknown commands ...": that
//   test must fail) or a phase id ("2.8": at least one test of that phase must fail); a phase
//   that is not run because a phase it needs failed has lost all its points, so its entries
//   hold. The mutant
//   is graded on the phases its entries name (hidden ones too, with --hidden), and it is caught
//   when every entry holds. A test that fails beyond the entries is reported, not counted.
// - `# fast`: also graded in `npm test` (grader/test/mutants.test.ts); keep those few and quick.
// - File paths in the diff are relative to solutions/NN-name (a leading a/, b/ or
//   solutions/NN-name/ is dropped), so `diff -u --label a/server.ts --label b/server.ts` writes one.
//
// Each mutant is applied to a fresh copy of solutions/NN-name in the temp folder and graded
// with `--impl DIR`, exactly as a student's folder would be.
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { applyPatch, parsePatch } from 'diff';
import { labDirs, loadLab } from '../labs.js';
import { cleanup, root, runGrader } from './support.js';

export const mutantsDir = path.join(root, 'grader', 'test', 'fixtures', 'mutants');

export interface Mutant {
  /** The lab folder, "02-chat". */
  lab: string;
  /** The file name without ".patch". */
  name: string;
  file: string;
  /** The header's first line: the bug. */
  bug: string;
  loses: string[];
  fast: boolean;
  /** The diff itself, header removed. */
  diff: string;
}

export interface Outcome {
  mutant: Mutant;
  caught: boolean;
  /** Entries of `loses` that did not hold: the tests that let the bug through. */
  missed: string[];
  /** Tests that failed beyond the entries. */
  alsoLost: string[];
  /** Why the mutant could not be graded at all (it does not apply, the grader broke). */
  error?: string;
  score?: number;
  maxScore?: number;
  durationMs: number;
}

/** Reads one mutant file. Throws with the file's name when its header is not of the format above. */
export function readMutant(lab: string, file: string): Mutant {
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  let end = 0;
  while (end < lines.length && lines[end]!.startsWith('#')) end++;
  const header = lines.slice(0, end).map((line) => line.replace(/^#\s?/, ''));
  const loses = header.filter((line) => /^loses:/.test(line)).map((line) => line.slice('loses:'.length).trim());
  const name = path.basename(file, '.patch');
  if (header.length === 0 || /^(loses:|fast$)/.test(header[0]!)) throw new Error(`${file}: the first header line must say what the bug is`);
  if (loses.length === 0) throw new Error(`${file}: no "# loses: ..." line says what the mutant must lose`);
  // The bug is told by the lines before the first "loses:" line.
  const told = header.slice(0, Math.max(1, header.findIndex((line) => /^(loses:|fast$)/.test(line)))).join(' ');
  return { lab, name, file, bug: told, loses, fast: header.some((line) => line.trim() === 'fast'), diff: lines.slice(end).join('\n') };
}

/** Every mutant of one lab folder, or of every lab. */
export function loadMutants(lab?: string): Mutant[] {
  const labs = lab ? [lab] : labDirs(root);
  return labs.flatMap((dir) => {
    const folder = path.join(mutantsDir, dir);
    if (!existsSync(folder)) return [];
    return readdirSync(folder)
      .filter((name) => name.endsWith('.patch'))
      .sort()
      .map((name) => readMutant(dir, path.join(folder, name)));
  });
}

/** The phase id an entry names: "2.6" for "2.6" and for "2.6 a client that ...". */
function phaseOf(entry: string): string {
  return entry.split(' ')[0]!;
}

/** A fresh copy of the lab's solution with the mutant applied; returns the folder. */
export function applyMutant(mutant: Mutant): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `switchboard-mutant-${mutant.name}-`));
  const target = path.join(dir, mutant.lab);
  cpSync(path.join(root, 'solutions', mutant.lab), target, { recursive: true });
  const patches = parsePatch(mutant.diff);
  if (patches.length === 0 || patches.every((p) => p.hunks.length === 0)) throw new Error(`${mutant.file} holds no diff`);
  for (const patch of patches) {
    const name = (patch.newFileName ?? patch.oldFileName ?? '').replace(/^[ab]\//, '').replace(new RegExp(`^solutions/${mutant.lab}/`), '');
    const file = path.join(target, name);
    if (!existsSync(file)) throw new Error(`${mutant.file} patches ${name}, which solutions/${mutant.lab} does not have`);
    const patched = applyPatch(readFileSync(file, 'utf8'), patch);
    if (patched === false) throw new Error(`${mutant.file} no longer applies to solutions/${mutant.lab}/${name}: the solution changed; remake the patch`);
    writeFileSync(file, patched);
  }
  return target;
}

/**
 * Grades one mutant on the phases its entries name. With `namedOnly`, a mutant whose entries are
 * all full test names runs only those tests (--test), not the rest of their phases: it is caught
 * or not the same way, but `alsoLost` can then name nothing (mutants.test.ts, where time counts).
 */
export async function gradeMutant(mutant: Mutant, options: { namedOnly?: boolean } = {}): Promise<Outcome> {
  const started = Date.now();
  const failed = (error: string): Outcome => ({ mutant, caught: false, missed: mutant.loses, alsoLost: [], error, durationMs: Date.now() - started });
  let dir: string;
  try {
    dir = applyMutant(mutant);
  } catch (error) {
    return failed((error as Error).message);
  }
  try {
    const lab = await loadLab(root, mutant.lab, { hidden: true });
    const phases = [...new Set(mutant.loses.map(phaseOf))];
    const unknown = phases.filter((id) => !lab.phases.some((p) => p.id === id));
    if (unknown.length > 0) return failed(`${mutant.file} names phases lab ${lab.number} does not have: ${unknown.join(', ')}`);
    const hidden = phases.some((id) => lab.phases.find((p) => p.id === id)?.hidden);
    const timeoutMs = 60_000 + phases.reduce((sum, id) => sum + 2 * (lab.phases.find((p) => p.id === id)?.timeoutMs ?? 30_000), 0);
    const named = options.namedOnly && mutant.loses.every((entry) => entry.includes(' ')) ? mutant.loses.flatMap((entry) => ['--test', entry]) : [];
    const run = await runGrader([String(lab.number), '--impl', dir, ...(hidden ? ['--hidden'] : []), ...phases.flatMap((id) => ['--phase', id]), ...named], { timeoutMs });
    const tests = run.json.phases.flatMap((p) => p.tests);
    // A test lost its points when it failed, or when its phase was not run because a phase it
    // needs failed (the student gets nothing for it either way).
    const blocked = new Set(run.json.phases.filter((p) => p.status === 'blocked').map((p) => p.id));
    const lost = tests.filter((t) => t.state === 'failed' || blocked.has(phaseOf(t.name))).map((t) => t.name);
    const holds = (entry: string) => blocked.has(phaseOf(entry)) || (entry.includes(' ') ? lost.includes(entry) : lost.some((name) => phaseOf(name) === entry));
    // (A test of a phase that was not run is not listed, so it cannot be looked up.)
    const missing = mutant.loses.filter((entry) => entry.includes(' ') && !blocked.has(phaseOf(entry)) && !tests.some((t) => t.name === entry));
    cleanup(run);
    if (missing.length > 0) return failed(`${mutant.file} names tests that do not exist: ${missing.join('; ')}`);
    const missed = mutant.loses.filter((entry) => !holds(entry));
    const alsoLost = lost.filter((name) => !mutant.loses.some((entry) => entry === name || entry === phaseOf(name)));
    return { mutant, caught: missed.length === 0, missed, alsoLost, score: run.json.score, maxScore: run.json.maxScore, durationMs: Date.now() - started };
  } catch (error) {
    return failed((error as Error).message);
  } finally {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
}

/** Grades mutants `jobs` at a time, calling `done` as each one finishes. */
export async function gradeAll(mutants: Mutant[], jobs: number, done: (outcome: Outcome) => void): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, jobs) }, async () => {
      while (next < mutants.length) {
        const outcome = await gradeMutant(mutants[next++]!);
        outcomes.push(outcome);
        done(outcome);
      }
    }),
  );
  return outcomes;
}

function describe(outcome: Outcome): string {
  const { mutant } = outcome;
  const time = `${(outcome.durationMs / 1000).toFixed(1)} s`;
  const head = `${outcome.caught ? 'caught  ' : outcome.error ? 'ERROR   ' : 'SURVIVED'} ${mutant.lab}/${mutant.name}  (${time})  ${mutant.bug}`;
  const lines = [head];
  if (outcome.error) lines.push(`           ${outcome.error}`);
  else if (!outcome.caught) lines.push(...outcome.missed.map((entry) => `           still passes: ${entry}`));
  if (outcome.alsoLost.length > 0) lines.push(`           also lost: ${outcome.alsoLost.join('; ')}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      lab: { type: 'string' },
      only: { type: 'string' },
      jobs: { type: 'string', default: '1' },
      json: { type: 'string' },
    },
  });
  const lab = values.lab ? labDirs(root).find((dir) => Number(dir.slice(0, 2)) === Number(values.lab) || dir === values.lab) : undefined;
  if (values.lab && !lab) throw new Error(`no lab ${values.lab}`);
  const mutants = loadMutants(lab).filter((m) => !values.only || m.name.includes(values.only));
  console.log(`grading ${mutants.length} mutants, ${values.jobs} at a time`);
  const started = Date.now();
  const outcomes = await gradeAll(mutants, Number(values.jobs), (outcome) => console.log(describe(outcome)));
  console.log('');
  const labs = [...new Set(mutants.map((m) => m.lab))];
  for (const dir of labs) {
    const mine = outcomes.filter((o) => o.mutant.lab === dir);
    console.log(`${dir}: ${mine.filter((o) => o.caught).length}/${mine.length} caught`);
  }
  const caught = outcomes.filter((o) => o.caught).length;
  console.log(`all labs: ${caught}/${outcomes.length} caught in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (values.json) {
    const report = outcomes.map((o) => ({ lab: o.mutant.lab, name: o.mutant.name, bug: o.mutant.bug, caught: o.caught, missed: o.missed, alsoLost: o.alsoLost, error: o.error, durationMs: o.durationMs }));
    writeFileSync(values.json, JSON.stringify(report, null, 2));
  }
  process.exitCode = caught === outcomes.length ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename ?? '')) {
  main().catch((error: Error) => {
    console.error(error.message);
    process.exitCode = 2;
  });
}
