// Thrown by every part of the starter that is yours to write. The grader recognises its message
// and tells you which phase is waiting on which function.
export class NotImplemented extends Error {
  constructor(
    readonly phase: string,
    readonly what: string,
  ) {
    super(`phase ${phase} not started: ${what} is still a TODO`);
    this.name = 'NotImplemented';
  }
}

const told = new Set<string>();

/**
 * Starter support, not in the reference: runs `work`, which may reach a part you have not written
 * yet. A TODO of phase 7.1 stops the replica: without terms and votes nothing else can work. A
 * later phase's TODO is reported once on standard output, and `instead` runs in its place (what
 * lab 6 did, or nothing), so that the cluster stays up for the phases you have done.
 */
export function unlessTodo<T>(work: () => T, instead: () => T): T {
  try {
    return work();
  } catch (error) {
    if (!(error instanceof NotImplemented) || error.phase === '7.1') throw error;
    if (!told.has(error.what)) {
      told.add(error.what);
      console.log(error.message);
    }
    return instead();
  }
}
