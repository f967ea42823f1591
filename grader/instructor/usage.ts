// A usage error of an instructor command: the message, then the usage, on standard error; exit 2.
export function usageError(usage: string, message: string): never {
  process.stderr.write(`${message}\n\n${usage}\n`);
  process.exit(2);
}
