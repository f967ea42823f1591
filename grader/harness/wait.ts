// Deadlines, not sleeps. Every wait in the harness goes through here, so that when it expires
// it says what it waited for and what it saw instead.
import { setTimeout as delay } from 'node:timers/promises';

/** Multiplies every deadline, for very slow machines: SWITCHBOARD_TIME_SCALE=2. */
const timeScale = Math.max(1, Number(process.env.SWITCHBOARD_TIME_SCALE) || 1);

export function scaled(ms: number): number {
  return Math.round(ms * timeScale);
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/** A failure the grader explains: its message is what the student reads. */
export class GradeFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GradeFailure';
  }
}

/**
 * Resolves with `promise`, or rejects with a GradeFailure built by `explain` once `ms` have passed.
 * `explain` is called only on expiry, so it can describe the state at that moment.
 */
export async function withDeadline<T>(promise: Promise<T>, ms: number, explain: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  // If the deadline wins, `promise` may still reject later; that must not become an unhandled rejection.
  promise.catch(() => undefined);
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new GradeFailure(explain())), ms);
  });
  try {
    return await Promise.race([promise, expiry]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns a value other than undefined, or the deadline passes. */
export async function poll<T>(
  check: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs: number; intervalMs?: number; explain: () => string },
): Promise<T> {
  const end = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= end) throw new GradeFailure(options.explain());
    await delay(options.intervalMs ?? 50);
  }
}

/** A promise that can be settled from outside, for event-driven waits. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Waits at most `ms` for `promise`, and never rejects: for teardown, which must not hang. */
export async function bounded(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}
