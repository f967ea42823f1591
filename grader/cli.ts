// `npm run lab <number|name> [-- options]`: grades one lab and prints the report.
// Exit status: 0 at full marks, 1 below, 2 for a usage error.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Chalk } from 'chalk';
import { describeGraded, grade, groupsDir, selectPhases } from './engine.js';
import { assignCommands } from './harness/command.js';
import { GroupRegistry } from './harness/groups.js';
import { findLab, forThisCopy, labDirs, loadLab, notReleased } from './labs.js';
import { toGradescope, toJson, toJunit, writeAtomically } from './report/files.js';
import { renderRepeat, renderRun, type Style } from './report/terminal.js';
import type { RunResult } from './results.js';
import { claimSlot, graderNetns, isRoot, makePlan, planFromEnv } from './sandbox/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const usage = forThisCopy(root, `usage: npm run lab <lab> [-- options]

  <lab>                 a lab number or name: 1, 01, echo, 01-echo

what to grade (default: your code in starter/NN-name):
  --solution            the reference solution
  --impl DIR            the TypeScript programs in DIR, or in DIR/starter/NN-name when DIR is a
                        copy of the student repository
  --cmd "COMMAND"       run the lab's main program (its server; the replica in labs 6-7) as
                        COMMAND; the grader appends the flags the spec defines (--port N, ...).
                        Any language: --cmd "python3 server.py"
  --cmd NAME="COMMAND"  the same for the lab's program NAME: --cmd client="./client"; one --cmd
                        per program, and NAME one of the lab's programs

what to run:
  --phase ID            only this phase (1.3) or group (1); repeatable
  --test TEXT           only the tests whose name holds TEXT ("a vote is saved"); repeatable.
                        The other tests are skipped and score nothing
  --hidden              include the instructor-only tests in labs/NN-name/hidden
  --repeat N            run N times; report every phase that failed at least once, and how often
  --explore N           tests that search (lab 5's crash states, labs 6-7's fault schedules)
                        try N cases each instead of their default (SWITCHBOARD_EXPLORE=N does the
                        same); a failing case prints the seed that replays it
  --watch               run again whenever your code or the tests change

reports:
  --json FILE           the results in the kit's JSON schema
  --gradescope FILE     Gradescope's results.json
  --junit FILE          JUnit XML, for CI
  --logs DIR            keep this run's logs in DIR (default: a new folder in .switchboard/runs)
  --trace               write every test's trace (a space-time diagram, trace.html beside its
                        logs), not only the failed tests'
  --sandbox             confine the programs as grading others' code does (Linux): a grading
                        user when run as root, bubblewrap, limits (see README, for instructors)
  --verbose             the whole transcript and every process's last lines for each failure

environment: NO_COLOR=1 turns colours off; SWITCHBOARD_TIME_SCALE=2 doubles every deadline.`);

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${usage}\n`);
  process.exit(2);
}

/** The grader's options that npm, given them before `--`, keeps for itself (`npm run lab 1 --watch` runs `lab 1` with npm_config_watch set). */
const npmSwallows = ['watch', 'phase', 'repeat', 'explore', 'solution', 'hidden', 'impl', 'cmd', 'logs', 'json', 'gradescope', 'junit', 'trace', 'sandbox'];

/** Options the user gave before `--`, which npm kept (and whose values it passed on as stray arguments). */
function optionsNpmTook(values: Record<string, unknown>): string[] {
  if (process.env.npm_lifecycle_event === undefined) return [];
  return npmSwallows.filter((option) => values[option] === undefined && process.env[`npm_config_${option}`] !== undefined);
}

/** --verbose before `--` is npm's own option: it turns npm's log level up. */
function npmTookVerbose(values: Record<string, unknown>): boolean {
  return process.env.npm_lifecycle_event !== undefined && !values.verbose && process.env.npm_config_loglevel === 'verbose';
}

async function listLabs(): Promise<string> {
  const lines = ['labs:'];
  for (const dir of labDirs(root)) {
    const lab = await loadLab(root, dir);
    lines.push(`  ${lab.number}  ${lab.title}  (${lab.phases.map((p) => p.id).join(' ')})`);
  }
  return lines.join('\n');
}

/** The folder of a lab's programs: DIR itself, or DIR/starter/NN-name when DIR is a student repository. */
function implFolder(given: string, labDir: string): string {
  const inRepository = path.join(given, 'starter', labDir);
  return existsSync(inRepository) ? inRepository : given;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        solution: { type: 'boolean' },
        impl: { type: 'string' },
        cmd: { type: 'string', multiple: true },
        phase: { type: 'string', multiple: true },
        test: { type: 'string', multiple: true },
        hidden: { type: 'boolean' },
        repeat: { type: 'string' },
        explore: { type: 'string' },
        watch: { type: 'boolean' },
        json: { type: 'string' },
        gradescope: { type: 'string' },
        junit: { type: 'string' },
        logs: { type: 'string' },
        trace: { type: 'boolean' },
        sandbox: { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const { values, positionals } = parsed;
  const eaten = optionsNpmTook(values);
  if (eaten.length) {
    // npm passed the options' values on as stray arguments; with one such option, they pair up.
    const valued = eaten.filter((o) => !['watch', 'solution', 'hidden', 'trace', 'sandbox'].includes(o));
    const values = positionals.slice(1);
    const shown = eaten.map((o) => (valued.length === 1 && o === valued[0] && values.length === 1 ? `--${o} ${values[0]}` : `--${o}`));
    process.stderr.write(
      `npm took ${eaten.map((o) => `--${o}`).join(', ')} for itself: the grader's options go after a lone --, as in\n\n` +
        `  npm run lab ${positionals[0] ?? '1'} -- ${shown.join(' ')}${valued.length > 1 || (valued.length === 1 && values.length !== 1) ? ' ...' : ''}\n`,
    );
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n\n${await listLabs()}\n`);
    return 0;
  }
  if (positionals.length !== 1) fail(positionals.length === 0 ? `which lab?\n\n${await listLabs()}` : `one lab at a time, not ${positionals.join(' ')}`);
  const dir = findLab(root, positionals[0]!);
  if (!dir) {
    const unreleased = notReleased(root, positionals[0]!);
    if (unreleased) {
      process.stderr.write(`${unreleased}\n`);
      process.exit(2);
    }
    fail(`there is no lab "${positionals[0]}"\n\n${await listLabs()}`);
  }
  const lab = await loadLab(root, dir, { hidden: Boolean(values.hidden) });

  // npm runs scripts in the kit's folder; relative paths mean what they meant where the user typed them.
  const cwd = process.env.INIT_CWD ?? process.cwd();
  if (values.solution && values.impl) fail('--solution and --impl name two different implementations; give one');
  if (values.solution && !existsSync(path.join(root, 'solutions', dir))) {
    fail(`this copy of the kit has no reference solution for lab ${lab.number} (solutions/${dir} is not here: student repositories leave the solutions out)`);
  }
  const impl = values.solution ? 'solution' : values.impl ? implFolder(path.resolve(cwd, values.impl), dir) : 'starter';

  let commands: Record<string, string> = {};
  try {
    // The other labs are read only to say, of a program this lab lacks, which lab has it.
    const others = values.cmd?.length ? await Promise.all(labDirs(root).map((d) => loadLab(root, d))) : [];
    commands = assignCommands(values.cmd ?? [], lab, others);
  } catch (error) {
    fail((error as Error).message);
  }

  const phases = values.phase ?? [];
  if (phases.length && selectPhases(lab, phases).length === 0) {
    fail(`lab ${lab.number} has no phase ${phases.join(', ')}; its phases are ${lab.phases.map((p) => p.id).join(', ')}`);
  }
  const repeat = values.repeat === undefined ? 1 : Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) fail(`--repeat wants a whole number of runs, got "${values.repeat}"`);
  if (values.watch && repeat > 1) fail('--watch and --repeat do not go together');
  if (values.explore !== undefined) {
    const explore = Number(values.explore);
    if (!Number.isInteger(explore) || explore < 1) fail(`--explore wants a whole number of cases (crash states, schedules), at least 1, got "${values.explore}"`);
    // The test workers read it (grader/explore/): how many cases each searching phase tries.
    process.env.SWITCHBOARD_EXPLORE = String(explore);
  }

  const colour = !process.env.NO_COLOR && (process.stdout.isTTY || Boolean(process.env.FORCE_COLOR));
  process.env.SWITCHBOARD_COLOR = colour ? '1' : '0';
  const verbose = Boolean(values.verbose) || npmTookVerbose(values);
  if (npmTookVerbose(values)) process.stderr.write('npm took --verbose for itself (its own log level); the grader is verbose too, but put options after a lone --: npm run lab N -- --verbose\n');
  const style: Style = { chalk: new Chalk({ level: colour ? 1 : 0 }), verbose };

  // Processes left by an earlier grader that was killed outright (it could not clean up).
  const registry = new GroupRegistry(groupsDir(root), process.pid, process.pid);
  const reaped = registry.reapOrphans();
  if (reaped.length) process.stderr.write(`reaped ${reaped.length} process group(s) left running by an earlier, interrupted run:\n${reaped.map((c) => `  ${c}`).join('\n')}\n`);
  const interrupt = (signal: string) => {
    const killed = registry.killRun();
    process.stderr.write(`\n${signal}: stopped ${killed} process group(s) this run had started\n`);
    process.exit(130);
  };
  process.on('SIGINT', () => interrupt('interrupted'));
  process.on('SIGTERM', () => interrupt('terminated'));
  // Closing the terminal sends SIGHUP: the run's programs must not outlive it.
  process.on('SIGHUP', () => interrupt('the terminal closed'));

  const progress = process.stderr.isTTY ? process.stderr : undefined;
  const logs = values.logs ? path.resolve(cwd, values.logs) : undefined;
  // Grading someone else's code: its programs confined (grader/sandbox). `npm run grade` and the
  // Gradescope autograder hand their plan over; --sandbox makes one here (no network namespace).
  let sandbox = planFromEnv();
  if (!sandbox && values.sandbox) {
    const work = mkdtempSync(path.join(os.tmpdir(), 'switchboard-sandbox-'));
    process.on('exit', () => rmSync(work, { recursive: true, force: true }));
    const netns = graderNetns(groupsDir(root));
    const claimed = isRoot ? claimSlot() : undefined;
    process.on('exit', () => claimed?.release());
    sandbox = makePlan({ slot: claimed?.slot ?? 1, work, loopbackOnly: Boolean(netns), kit: root });
    if (!sandbox) fail(`--sandbox: programs cannot be confined on ${process.platform}`);
    if (netns) {
      // The grader itself goes in the network and pid namespaces, with its programs: run again there.
      const env = { ...process.env, SWITCHBOARD_SANDBOX: JSON.stringify(sandbox), SWITCHBOARD_PORT_CLAIMS: path.join(work, 'ports') };
      // As npm run lab starts it (grader/start.mjs), however this one was started.
      const self = [path.join(root, 'grader', 'start.mjs'), fileURLToPath(import.meta.url), ...process.argv.slice(2)];
      const again = spawnSync(netns[0]!, [...netns.slice(1), process.execPath, ...self], { stdio: 'inherit', env });
      return again.status ?? 1;
    }
  }
  const tests = (values.test ?? []).filter((t) => t.trim() !== '');
  if (values.test?.length && tests.length === 0) fail('--test wants some text of a test\'s name, got nothing');
  const base = { root, lab, impl, commands, phases, tests, hidden: Boolean(values.hidden), cwd, progress, runDir: logs, trace: Boolean(values.trace), sandbox };

  if (values.watch) {
    process.stdout.write(`watching ${describeGraded(base)} and the tests of lab ${lab.number}; Ctrl+C to stop\n`);
    await grade({
      ...base,
      onWatchRun: (run) => {
        // Each run after the first says when it started and what changed, so runs are told apart.
        if (run.changed) {
          const time = new Date().toLocaleTimeString();
          const what = run.changed.length ? `${run.changed.slice(0, 3).join(', ')}${run.changed.length > 3 ? ', …' : ''} changed` : 'a change';
          process.stdout.write(`\n${style.chalk.bold(`── ${time} · ${what} ${'─'.repeat(20)}`)}\n`);
        }
        process.stdout.write(`\n${renderRun(run, style)}`);
      },
    });
    return 0;
  }

  const runs: RunResult[] = [];
  for (let i = 1; i <= repeat; i++) {
    const run = await grade({ ...base, runDir: logs && repeat > 1 ? path.join(logs, `run-${i}`) : logs });
    runs.push(run);
    if (repeat > 1) process.stdout.write(`run ${i}/${repeat}: ${run.score}/${run.maxScore} in ${(run.durationMs / 1000).toFixed(1)} s\n`);
  }
  const leftovers = registry.killRun();
  if (leftovers) process.stderr.write(`stopped ${leftovers} process group(s) still running after the tests\n`);

  const last = runs[runs.length - 1]!;
  process.stdout.write(repeat > 1 ? renderRepeat(runs, style) : renderRun(last, style));
  if (values.json) writeAtomically(path.resolve(cwd, values.json), `${JSON.stringify(toJson(runs), null, 2)}\n`);
  if (values.gradescope) writeAtomically(path.resolve(cwd, values.gradescope), `${JSON.stringify(toGradescope(last), null, 2)}\n`);
  if (values.junit) writeAtomically(path.resolve(cwd, values.junit), toJunit(last));
  // A --test that matched nothing is a mistake to say, not a score of zero to show.
  if (tests.length && last.phases.every((p) => p.tests.every((t) => t.state === 'skipped'))) {
    process.stderr.write(`no test${phases.length ? ` of phase ${phases.join(', ')}` : ''} of lab ${lab.number}${values.hidden ? '' : ' (without --hidden)'} has a name holding ${tests.map((t) => JSON.stringify(t)).join(' or ')}\n`);
    return 2;
  }
  return runs.every((run) => run.score === run.maxScore && run.errors.length === 0) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`grader error: ${error.stack ?? error.message}\n`);
    process.exit(2);
  },
);
