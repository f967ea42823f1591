// Splitting a batch across machines. A submission's shard depends only on its name and the
// number of shards (a hash of the name), so every machine of a CI matrix agrees on the split
// without talking to the others, whatever order it lists the folders in, and a name never moves
// between shards when other submissions come or go.
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

/** The shard (1-based) a submission's name falls in. Names are compared in Unicode NFC, as macOS may list them otherwise. */
export function shardOf(name: string, count: number): number {
  const digest = createHash('sha256').update(name.normalize('NFC')).digest();
  return (digest.readUInt32BE(0) % count) + 1;
}
