// Progress of a batch. On a terminal: one line redrawn in place, with a bar, the count, what is
// running and an estimate of the time left (the mean time of a submission so far, times those
// left, shared among the jobs). Elsewhere (a CI log, a file): one plain line per submission as
// it finishes.
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export class Progress {
  private done = 0;
  private spentMs = 0;
  private readonly running = new Set<string>();
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: ProgressStream,
    private readonly total: number,
    private readonly jobs: number,
  ) {
    if (stream.isTTY && total > 0) {
      this.timer = setInterval(() => this.draw(), 500);
      this.timer.unref();
    }
  }

  start(name: string): void {
    this.running.add(name);
    this.draw();
  }

  finish(name: string, summary: string, durationMs: number): void {
    this.running.delete(name);
    this.done++;
    this.spentMs += durationMs;
    if (this.stream.isTTY) this.draw();
    else this.stream.write(`[${this.done}/${this.total}] ${name}: ${summary}\n`);
  }

  /** Time left, from the mean time of a submission so far; undefined before the first is done. */
  eta(): number | undefined {
    if (this.done === 0) return undefined;
    const left = this.total - this.done;
    return ((this.spentMs / this.done) * left) / Math.max(1, Math.min(this.jobs, left));
  }

  private draw(): void {
    if (!this.stream.isTTY) return;
    const width = Math.max(40, (this.stream.columns || 80) - 1);
    const barWidth = 20;
    const filled = Math.round((this.done / Math.max(1, this.total)) * barWidth);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}`;
    const eta = this.eta();
    const times = `${clock(Date.now() - this.started)} elapsed, ${eta === undefined ? 'ETA …' : `ETA ${clock(eta)}`}`;
    const names = [...this.running].join(', ');
    const line = `${bar} ${this.done}/${this.total}  ${times}${names ? `  grading ${names}` : ''}`;
    this.stream.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
  }

  /** Clears the line (on a terminal) so that the table prints cleanly. */
  end(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.stream.isTTY) this.stream.write('\r\x1b[2K');
  }
}
