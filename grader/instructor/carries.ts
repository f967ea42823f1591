// Which earlier labs' finished code a release hands out. By design a lab builds on an earlier one
// working: starter/05-persistence holds lab 3's codec, starter/06-replication lab 5's service,
// starter/07-consensus lab 6's replica. Each lab says so in its registry (`carries` in lab.ts);
// this file follows those declarations for the export and the Gradescope package, which name
// that code and refuse while a lab it finishes is still open.
import type { LabSpec } from '../lab.js';

/** The labs whose finished code `lab`'s starter holds, nearest first: what it carries, what that carries, and so on. */
export function carriedLabs(lab: LabSpec, labs: LabSpec[]): LabSpec[] {
  const chain: LabSpec[] = [];
  for (let dir = lab.carries; dir !== undefined; ) {
    const carried = labs.find((l) => l.dir === dir);
    if (!carried) throw new Error(`lab ${lab.number} carries ${dir}, which is not a lab of this kit`);
    if (carried === lab || chain.includes(carried)) throw new Error(`lab ${lab.number}: what it carries comes round to ${dir} again`);
    chain.push(carried);
    dir = carried.carries;
  }
  return chain;
}

/** "lab 6 (06-replication) and, through it, lab 5 (05-persistence) and lab 3 (03-protocol)". */
function named(chain: LabSpec[]): string {
  const [nearest, ...further] = chain.map((l) => `lab ${l.number} (${l.dir})`);
  return further.length ? `${nearest} and, through it, ${further.join(' and ')}` : nearest!;
}

/** One line per released lab whose starter holds earlier labs' finished code, saying which. */
export function carriesLines(released: LabSpec[], labs: LabSpec[]): string[] {
  return released.flatMap((lab) => {
    const chain = carriedLabs(lab, labs);
    return chain.length ? [`starter/${lab.dir} holds the finished code of ${named(chain)}`] : [];
  });
}

/**
 * Why releasing these labs would hand out the solution of a lab students may still be doing: one
 * line per carried lab that is in `open`, or (with `releasedAll`, for the export) that is not
 * released with them. Empty when there is no such lab.
 */
export function earlierSolutionsProblems(released: LabSpec[], labs: LabSpec[], open: string[], options: { releasedAll?: boolean } = {}): string[] {
  const problems: string[] = [];
  for (const lab of released) {
    for (const carried of carriedLabs(lab, labs)) {
      const why = open.includes(carried.dir)
        ? `which is still open (--open ${carried.number})`
        : options.releasedAll && !released.some((l) => l.dir === carried.dir)
          ? 'which this export does not release'
          : undefined;
      if (why) problems.push(`starter/${lab.dir} holds the finished code of lab ${carried.number} (${carried.dir}), ${why}`);
    }
  }
  return problems;
}
