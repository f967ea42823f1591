// The GitHub Actions workflows the kit ships cannot run here, so their syntax and their wiring are
// checked: each parses as YAML, every job runs somewhere and every step does one thing, every
// `${{ }}` closes, `needs` and `matrix.` name what exists, and each command they run exists with
// the options they give it.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseDocument } from 'yaml';
import { root } from './support.js';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}

interface Job {
  'runs-on': string;
  needs?: string | string[];
  if?: string;
  strategy?: { matrix: Record<string, unknown> };
  steps: Step[];
}

interface Workflow {
  name: string;
  on: unknown;
  jobs: Record<string, Job>;
}

const workflows = {
  'grader/instructor/templates/grade-class.yml': 'the class-grading template',
  'grader/instructor/templates/classroom.yml': "the student repository's Classroom workflow",
  '.github/workflows/kit.yml': "the kit's own CI",
};

function load(file: string): Workflow {
  // The Classroom template's placeholders are filled in as the export fills them.
  const text = readFileSync(path.join(root, file), 'utf8').replace(/@@LAB@@/g, '1').replace(/@@NODE_MAJOR@@/g, '20');
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  expect([...document.errors, ...document.warnings].map((e) => e.message), file).toEqual([]);
  return document.toJS() as Workflow;
}

/** Every string in a value, however deep. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)]);
  return [];
}

/** The options of an instructor command, as its usage text lists them. */
function usageOptions(file: string): Set<string> {
  return new Set([...readFileSync(path.join(root, file), 'utf8').matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]!));
}

describe.each(Object.entries(workflows))('%s', (file) => {
  const workflow = load(file);

  test('parses, and each job runs somewhere, with steps that each use an action or run a command', () => {
    expect(typeof workflow.name).toBe('string');
    expect(workflow.on).toBeTruthy();
    expect(Object.keys(workflow.jobs).length).toBeGreaterThan(0);
    for (const [name, job] of Object.entries(workflow.jobs)) {
      expect(job['runs-on'], name).toBeTruthy();
      expect(job.steps.length, name).toBeGreaterThan(0);
      for (const step of job.steps) {
        expect([step.uses, step.run].filter((x) => x !== undefined), `${name}: ${JSON.stringify(step)}`).toHaveLength(1);
        if (step.uses) expect(step.uses, name).toMatch(/^[\w.-]+\/[\w.-]+(\/[\w.-]+)*@v\d+$/);
      }
    }
  });

  test('every expression closes; needs and matrix name what exists', () => {
    for (const text of strings(workflow)) {
      const opened = text.split('${{').length - 1;
      expect(text.split('}}').length - 1, text).toBeGreaterThanOrEqual(opened);
      expect(opened, text).toBe([...text.matchAll(/\$\{\{[^}]*\}\}/g)].length);
    }
    for (const [name, job] of Object.entries(workflow.jobs)) {
      for (const need of [job.needs ?? []].flat()) expect(Object.keys(workflow.jobs), `${name} needs ${need}`).toContain(need);
      const matrix = Object.keys(job.strategy?.matrix ?? {});
      for (const used of strings(job).flatMap((t) => [...t.matchAll(/\bmatrix\.(\w+)/g)].map((m) => m[1]!))) expect(matrix, `${name} uses matrix.${used}`).toContain(used);
      for (const used of strings(job).flatMap((t) => [...t.matchAll(/\bneeds\.(\w+)/g)].map((m) => m[1]!))) expect([job.needs ?? []].flat(), `${name} uses needs.${used}`).toContain(used);
    }
  });
});

describe('the class-grading template', () => {
  const workflow = load('grader/instructor/templates/grade-class.yml');
  const runs = (job: string) => workflow.jobs[job]!.steps.map((s) => s.run ?? '').join('\n');

  test('grades over a matrix of shards and merges them, with options npm run grade has', () => {
    const grade = workflow.jobs.grade!;
    expect(grade.strategy?.matrix.shard).toBeDefined();
    expect(runs('grade')).toMatch(/npm run grade -- .*--shard "\$SHARD"/);
    expect(grade.steps.find((s) => s.name?.startsWith('Grade shard'))!.env!.SHARD).toBe('${{ matrix.shard }}/${{ inputs.shards }}');
    const merge = workflow.jobs.merge!;
    expect(merge.needs).toBe('grade');
    expect(merge.if).toMatch(/!cancelled\(\)/);
    const known = usageOptions('grader/instructor/grade.ts');
    for (const line of [runs('grade'), runs('merge')].flatMap((r) => r.split('\n')).filter((l) => l.includes('npm run grade --'))) {
      for (const option of line.split('npm run grade --')[1]!.match(/--[a-z-]+/g) ?? []) expect(known, `${line}: ${option}`).toContain(option);
    }
  });

  test("the merge reads what the shards uploaded, where the download puts it", () => {
    const upload = workflow.jobs.grade!.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!;
    const download = workflow.jobs.merge!.steps.find((s) => s.uses?.startsWith('actions/download-artifact'))!;
    expect(upload.with!.name).toBe('shard-${{ matrix.shard }}');
    expect(download.with!.pattern).toBe('shard-*');
    expect(runs('merge')).toContain(`--merge ${download.with!.path}`);
    // The shard's files go where the upload takes them from.
    for (const option of ['--json shard/', '--reports shard/']) expect(runs('grade')).toContain(option);
    expect(upload.with!.path).toBe('shard/');
  });
});

describe("the kit's own CI", () => {
  const workflow = load('.github/workflows/kit.yml');

  test('runs on Linux, Windows and macOS; Linux runs .ci/run; the test files it names exist', () => {
    const systems = Object.values(workflow.jobs).flatMap((job) => {
      const runsOn = job['runs-on'];
      return runsOn.includes('matrix.os') ? (job.strategy!.matrix.os as string[]) : [runsOn];
    });
    expect([...new Set(systems)].sort()).toEqual(['macos-latest', 'ubuntu-latest', 'windows-latest']);
    const all = strings(workflow).join('\n');
    expect(all).toContain('bash .ci/run');
    const named = all.match(/grader\/test\/[\w./-]+\.test\.ts/g) ?? [];
    expect(named).toContain('grader/test/labs/01-echo.test.ts');
    for (const file of named) expect(existsSync(path.join(root, file)), file).toBe(true);
  });

  test('runs the deep checks weekly, and when asked', () => {
    const deep = workflow.jobs.deep!;
    expect(deep.if).toMatch(/schedule/);
    expect(strings(deep).join('\n')).toContain('npm run test:deep');
    expect(strings(workflow.on).join('\n')).toMatch(/\d+ \d+ \* \* \d/);
  });
});
