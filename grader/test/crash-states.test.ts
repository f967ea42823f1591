// The crash model of grader/explore/crash-states.ts: what a power cut leaves of files and names.
import { describe, expect, test } from 'vitest';
import { CrashableDir, cuts, pick, type CrashState } from '../explore/crash-states.js';
import { Random } from '../harness/random.js';

const b = (text: string) => Buffer.from(text);
const text = (image: Map<string, Buffer>) => Object.fromEntries([...image].map(([name, bytes]) => [name, bytes.toString()]));

describe('CrashableDir', () => {
  test('a synced file whose name was never synced is lost whole; a directory sync keeps it', () => {
    const dir = new CrashableDir();
    dir.apply({ kind: 'create', file: 'log', truncate: false });
    dir.apply({ kind: 'write', file: 'log', offset: 'end', bytes: b('abc') });
    dir.apply({ kind: 'sync', file: 'log' });
    expect(text(dir.crash())).toEqual({});
    dir.apply({ kind: 'syncdir' });
    expect(text(dir.crash())).toEqual({ log: 'abc' });
  });

  test('unsynced writes survive as a prefix, the last one torn', () => {
    const dir = new CrashableDir(new Map([['log', b('ab')]]));
    dir.apply({ kind: 'write', file: 'log', offset: 'end', bytes: b('cd') });
    dir.apply({ kind: 'write', file: 'log', offset: 'end', bytes: b('efgh') });
    expect(text(dir.now())).toEqual({ log: 'abcdefgh' });
    expect(text(dir.crash())).toEqual({ log: 'ab' });
    expect(text(dir.crash(0, () => 1))).toEqual({ log: 'abcd' });
    expect(text(dir.crash(0, () => 1.5))).toEqual({ log: 'abcdef' });
  });

  test('a sync covers only the writes made before it began', () => {
    const dir = new CrashableDir(new Map([['log', b('')]]));
    dir.apply({ kind: 'write', file: 'log', offset: 'end', bytes: b('one') });
    const count = dir.unsynced('log');
    dir.apply({ kind: 'write', file: 'log', offset: 'end', bytes: b('two') });
    dir.apply({ kind: 'sync', file: 'log', count });
    expect(text(dir.crash())).toEqual({ log: 'one' });
  });

  test('a rename not yet synced in its directory may be lost; the old name keeps its bytes', () => {
    const dir = new CrashableDir(new Map([['snapshot', b('old')]]));
    dir.apply({ kind: 'create', file: 'snapshot.tmp', truncate: true });
    dir.apply({ kind: 'write', file: 'snapshot.tmp', offset: 0, bytes: b('new') });
    dir.apply({ kind: 'sync', file: 'snapshot.tmp' });
    dir.apply({ kind: 'rename', from: 'snapshot.tmp', to: 'snapshot' });
    expect(text(dir.now())).toEqual({ snapshot: 'new' });
    expect(text(dir.crash())).toEqual({ snapshot: 'old' });
    // Kept: the creation, the removal of the old name's binding, the new one.
    expect(text(dir.crash(3))).toEqual({ snapshot: 'new' });
    dir.apply({ kind: 'syncdir' });
    expect(text(dir.crash())).toEqual({ snapshot: 'new' });
  });
});

test('cuts: both ends, around each record start, inside the range only', () => {
  const out = cuts(10, 40, [10, 25], new Random(1), 0);
  expect(out).toEqual([10, 11, 24, 25, 26, 40]);
});

test('pick: the highest priorities first, spread when they overflow, in the order of the record', () => {
  const states: CrashState[] = Array.from({ length: 30 }, (_, i) => ({ name: `s${i}`, files: new Map(), at: i, priority: i % 3 === 0 ? 2 : i % 3 === 1 ? 1 : 0 }));
  const chosen = pick(states, 12, new Random(7));
  expect(chosen.filter((s) => s.priority === 2)).toHaveLength(10);
  expect(chosen).toHaveLength(12);
  expect(chosen.map((s) => s.at)).toEqual([...chosen.map((s) => s.at)].sort((a, b) => a - b));
  expect(pick(states, 3, new Random(7)).every((s) => s.priority === 2)).toBe(true);
});
