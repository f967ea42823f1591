// Splitting a batch across machines. Every machine of a CI matrix lists the same folder of
// submissions, so each can take its part without talking to the others: the names, sorted, are
// dealt out in turn (shard 1 takes the 1st, the N+1st, ...), which keeps the shards within one
// submission of each other, so no machine waits long for the slowest. A hash of each name would
// keep a name in its shard as others come and go, but 8 names split 2 and 6 that way.
//
// Since the split depends on the whole list, each shard records a digest of the names it saw;
// the merge refuses shards that saw different classes.
import { createHash } from 'node:crypto';

export interface ShardChoice {
  /** 1-based. */
  index: number;
  count: number;
}

/** "2/8" to { index: 2, count: 8 }; a string saying what is wrong otherwise. */
export function parseShard(text: string): ShardChoice | string {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count) return `--shard wants I/N with 1 <= I <= N, such as 2/8, got "${text}"`;
  return { index, count };
}

/**
 * The names in the order they are dealt: Unicode NFC (macOS may list a name decomposed), then
 * by code unit, which no locale changes.
 */
function dealingOrder(names: string[]): string[] {
  return names.map((name) => [name.normalize('NFC'), name] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, name]) => name);
}

/** The names that shard `index` of `count` grades. */
export function shardNames(names: string[], choice: ShardChoice): string[] {
  return dealingOrder(names).filter((_, i) => i % choice.count === choice.index - 1);
}

/** A digest of the whole class's names, the same on every machine that lists the same folder. */
export function classDigest(names: string[]): string {
  return createHash('sha256').update(dealingOrder(names).map((n) => n.normalize('NFC')).join('\n')).digest('hex').slice(0, 16);
}
