// The spec, the handout's points table and the tests agree, for every lab: each phase's spec
// section exists, the handout lists every public phase with its registry name and points, and
// the points of a phase's tests add up to the phase's points.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { labDirs, loadLab, testFiles } from '../labs.js';
import { root } from './support.js';

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1]!)));
}

/** The points each test declares, read from the test files: `test('name', { points: N }`. */
function declaredPoints(file: string): { phase: string; points: number }[] {
  const phase = /^(\d+\.\d+)/.exec(path.basename(file))![1]!;
  return [...readFileSync(file, 'utf8').matchAll(/\{\s*points:\s*(\d+)/g)].map((m) => ({ phase, points: Number(m[1]) }));
}

for (const dir of labDirs(root)) {
  describe(dir, async () => {
    const lab = await loadLab(root, dir, { hidden: true });
    const publicPhases = lab.phases.filter((p) => !p.hidden);

    test('every phase points at a spec section that exists', () => {
      for (const phase of lab.phases) {
        const [file, anchor] = phase.spec.split('#');
        expect(existsSync(path.join(root, file!)), `${phase.id}: ${file}`).toBe(true);
        expect(anchors(readFileSync(path.join(root, file!), 'utf8')), `${phase.id}: #${anchor} in ${file}`).toContain(anchor);
      }
    });

    test('the handout lists every public phase with its name and points, and they total 100', () => {
      const handout = readFileSync(path.join(root, 'labs', dir, 'README.md'), 'utf8');
      const rows = [...handout.matchAll(/^\|\s*(\d+\.\d+)\s*\|\s*(.+?)\s*\|\s*(\d+)\s*\|\s*$/gm)].map((m) => ({ id: m[1], name: m[2], points: Number(m[3]) }));
      expect(rows).toEqual(publicPhases.map((p) => ({ id: p.id, name: p.name, points: p.points })));
      expect(publicPhases.reduce((sum, p) => sum + p.points, 0)).toBe(100);
    });

    test("the points of each phase's tests add up to the phase's points", () => {
      const declared = testFiles(root, dir, true).flatMap(declaredPoints);
      for (const phase of lab.phases) {
        const sum = declared.filter((d) => d.phase === phase.id).reduce((total, d) => total + d.points, 0);
        expect(sum, `phase ${phase.id}`).toBe(phase.points);
      }
    });

    test('no hidden phase is named in the public registry or handout', () => {
      const publicText = readFileSync(path.join(root, 'labs', dir, 'lab.ts'), 'utf8') + readFileSync(path.join(root, 'labs', dir, 'README.md'), 'utf8');
      for (const phase of lab.phases.filter((p) => p.hidden)) expect(publicText).not.toContain(phase.name);
    });
  });
}
