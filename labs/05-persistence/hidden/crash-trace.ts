// Crash states from a system-call trace (phase 5.7): the trace's writes, truncations, syncs,
// creations, renames and removals in the data directory are replayed into a file system that can
// crash (grader/explore/crash-states.ts), and at chosen points of the trace (each reply that
// acknowledges a record, each step of a compaction) the grader asks what a power cut there could
// leave: what was synced, and any prefix of what was not, the last write torn.
import path from 'node:path';
import { CrashableDir, type Image, type Operation } from '../../../grader/explore/crash-states.js';
import type { Random } from '../../../grader/harness/random.js';
import { paths, syncs, target, writes, written, type Call } from './strace.js';

/** A point of the trace where the grader crashes the directory: the line, and what a crash there leaves. */
export interface TracePoint {
  line: number;
  what: string;
  /** Only what was synced (the harshest power cut), and one random choice of what was not. */
  synced: Image;
  random: Image;
}

/**
 * Replays `calls` (sorted by the line they started on) into a crashable model of `dir`, and
 * returns the crash states just after each line in `points` (each with a description).
 */
export function traceStates(calls: Call[], dir: string, cwd: string, points: Map<number, string>, random: Random): TracePoint[] {
  const model = new CrashableDir();
  const fds = new Map<number, { file: string; pos: number; append: boolean }>();
  // Each call takes effect where it returned; a sync covers only the changes made before it began.
  const events: { line: number; run: () => void }[] = [];
  const inDir = (p: string | undefined) => (p && path.dirname(p) === dir ? path.basename(p) : undefined);
  const fdOf = (call: Call) => Number(/^(\d+)</.exec(call.args)?.[1] ?? -1);
  for (const call of calls) {
    const apply = (op: Operation) => events.push({ line: call.end, run: () => model.apply(op) });
    if (call.name === 'openat' || call.name === 'open') {
      const opened = /^(\d+)</.exec(call.result);
      const file = inDir(paths(call, cwd)[0]);
      if (!opened || !file) continue;
      fds.set(Number(opened[1]), { file, pos: 0, append: /O_APPEND/.test(call.args) });
      if (/O_CREAT/.test(call.args) || /O_TRUNC/.test(call.args)) apply({ kind: 'create', file, truncate: /O_TRUNC/.test(call.args) });
    } else if (writes.has(call.name)) {
      const fd = fds.get(fdOf(call));
      if (!fd || !inDir(target(call))) continue;
      // A file renamed since it was opened is written under its new name.
      fd.file = inDir(target(call))!;
      const bytes = written(call);
      const at = call.name.startsWith('pwrite') ? Number(/,\s*(\d+)\s*$/.exec(call.args)?.[1] ?? fd.pos) : fd.append ? ('end' as const) : fd.pos;
      if (!call.name.startsWith('pwrite')) fd.pos += bytes.length;
      apply({ kind: 'write', file: fd.file, offset: at, bytes });
    } else if (call.name === 'ftruncate') {
      const file = inDir(target(call));
      const length = Number(/,\s*(\d+)\s*$/.exec(call.args)?.[1]);
      if (file && Number.isFinite(length) && call.result === '0') apply({ kind: 'truncate', file, length });
    } else if (syncs.has(call.name) && call.result === '0') {
      const t = target(call);
      if (t === dir) {
        apply({ kind: 'syncdir' });
        continue;
      }
      const file = inDir(t);
      if (!file) continue;
      let count = 0;
      events.push({ line: call.start - 0.5, run: () => (count = model.unsynced(file)) });
      events.push({ line: call.end, run: () => model.apply({ kind: 'sync', file, count }) });
    } else if (call.name.startsWith('rename') && call.result === '0') {
      const [from, to] = paths(call, cwd).map(inDir);
      if (from && to) apply({ kind: 'rename', from, to });
    } else if (call.name.startsWith('unlink') && call.result === '0') {
      const file = inDir(paths(call, cwd)[0]);
      if (file) apply({ kind: 'unlink', file });
    }
  }
  events.sort((a, b) => a.line - b.line);
  const out: TracePoint[] = [];
  const wanted = [...points.keys()].sort((a, b) => a - b);
  let next = 0;
  for (const line of wanted) {
    while (next < events.length && events[next]!.line <= line) events[next++]!.run();
    out.push({ line, what: points.get(line)!, synced: model.crash(), random: model.randomCrash(random) });
  }
  return out;
}
