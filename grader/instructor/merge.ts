// `npm run grade -- --merge DIR`: the shards of one batch, graded on several machines with
// --shard I/N, put back together. DIR holds what the shards wrote (each its --json and its
// reports folder, as CI artifacts download); the merge checks that they make one whole class
// before it writes anything: the same lab, phases and tests, every shard once, no submission
// twice, and as many submissions as the class has.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Protections } from '../sandbox/index.js';
import { batchSchemaId, readBatch, type Batch } from './rows.js';

/** Every file under `dir` whose name ends in .json. */
function jsonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : jsonFiles(full);
    return entry.name.endsWith('.json') ? [full] : [];
  });
}

/**
 * The shards' batches under `dir`, checked to be one whole class: the same lab, phases and tests,
 * every shard 1..N once, no submission twice, and as many rows as the class has submissions.
 */
export function mergeShards(dir: string): { batch: Batch; files: string[] } {
  const found: { file: string; batch: Batch }[] = [];
  for (const file of jsonFiles(dir)) {
    // Each submission's results.json lies beside its shard's batch: only batches count.
    const text = readFileSync(file, 'utf8');
    let schema: unknown;
    try {
      schema = (JSON.parse(text) as { schema?: unknown }).schema;
    } catch {
      continue;
    }
    if (schema === batchSchemaId) found.push({ file, batch: readBatch(file, text) });
  }
  // A merged batch written into the same folder has no shard; with shards present, it is left out.
  const shards = found.some((f) => f.batch.shard) ? found.filter((f) => f.batch.shard) : found;
  if (shards.length === 0) throw new Error(`${dir} holds no batch JSON (${batchSchemaId}): give it the --json files of the shards`);
  const first = shards[0]!;
  const shape = (b: Batch) => JSON.stringify({ lab: b.lab, hidden: b.hidden });
  for (const { file, batch } of shards) {
    if (shape(batch) !== shape(first.batch)) throw new Error(`${file} grades something else than ${first.file} (its lab, phases or hidden tests differ): merge shards of one batch only`);
  }
  const count = first.batch.shard?.count;
  if (count !== undefined) {
    const byIndex = new Map<number, string>();
    for (const { file, batch } of shards) {
      if (batch.shard?.count !== count) throw new Error(`${file} is ${batch.shard ? `shard ${batch.shard.index}/${batch.shard.count}` : 'not a shard'}, but ${first.file} is one of ${count}: merge the shards of one split only`);
      if (batch.shard.of !== first.batch.shard!.of || batch.shard.class !== first.batch.shard!.class) {
        throw new Error(`${file} (${batch.shard.of} submissions) and ${first.file} (${first.batch.shard!.of}) saw different classes: their folders of submissions differ, so the split does not add up`);
      }
      if (byIndex.has(batch.shard.index)) throw new Error(`shard ${batch.shard.index}/${count} is there twice: ${byIndex.get(batch.shard.index)} and ${file}`);
      byIndex.set(batch.shard.index, file);
    }
    const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
    if (missing.length) throw new Error(`shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} missing from ${dir}: ${missing.length > 1 ? 'their jobs' : 'its job'} failed, or the results were not downloaded`);
  }
  const rows = shards.flatMap((s) => s.batch.rows);
  const seen = new Map<string, string>();
  for (const { file, batch } of shards) {
    for (const row of batch.rows) {
      if (seen.has(row.name)) throw new Error(`submission ${row.name} is in ${seen.get(row.name)} and in ${file}`);
      seen.set(row.name, file);
    }
  }
  const of = first.batch.shard?.of;
  if (of !== undefined && rows.length !== of) throw new Error(`the shards hold ${rows.length} submissions, but the class has ${of}: some shard graded a different folder`);
  const protections = mergedProtections(shards.map((s) => s.batch.protections));
  return { batch: { lab: first.batch.lab, hidden: first.batch.hidden, rows, ...(protections && { protections }) }, files: shards.map((s) => s.file) };
}

/**
 * What confined the class: the shards' protections where they agree; where they differ (each
 * machine has its own grading user, or one could not make a sandbox), every shard's value, and
 * confined only if every shard was. A shard that recorded none leaves the class unrecorded.
 */
function mergedProtections(all: (Protections | undefined)[]): Protections | undefined {
  if (all.length === 0 || all.some((p) => p === undefined)) return undefined;
  const given = all as Protections[];
  const distinct = (field: 'user' | 'sandbox' | 'network' | 'limits') => [...new Set(given.map((p) => p[field]))].join(' / ');
  return {
    confined: given.every((p) => p.confined),
    user: distinct('user'),
    sandbox: distinct('sandbox'),
    network: distinct('network'),
    limits: distinct('limits'),
    missing: [...new Set(given.flatMap((p) => p.missing))],
  };
}

