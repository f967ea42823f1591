// Runs tasks at most `jobs` at a time, in the order given, and returns their results in that
// order. A task that throws does not stop the others; its error takes its place in the results.
export async function runPool<T, R>(items: T[], jobs: number, task: (item: T, index: number) => Promise<R>): Promise<(R | Error)[]> {
  const results: (R | Error)[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index]!, index);
      } catch (error) {
        results[index] = error instanceof Error ? error : new Error(String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return results;
}
