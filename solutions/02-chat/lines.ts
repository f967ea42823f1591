// Finding lines in a byte stream (spec/02-chat.md, section 2).
//
// TCP delivers a stream of bytes, not messages: one read may hold half a line, or ten lines
// and the start of an eleventh. A LineReader is fed every chunk as it arrives, keeps the
// unfinished end for next time, and calls back once per complete line.
//
// It works on bytes, not text, for two reasons: the length limit is in bytes, and a UTF-8
// character cut in two by the network must be joined before it is decoded.
//
// The limit also bounds memory: a client that sends bytes and never a "\n" makes us keep at
// most MAX_LINE_BYTES of it. Past that the line is reported as too long at once, and its
// remaining bytes are dropped up to and including the next "\n".

export interface LineHandlers {
  /** A complete line, decoded, without its "\n" or a "\r" just before it. */
  line: (text: string) => void;
  /** A line passed the limit; called once per such line, as soon as it is known. */
  tooLong: () => void;
}

export class LineReader {
  private parts: Buffer[] = [];
  private size = 0;
  /** True while dropping the rest of a line that was too long. */
  private discarding = false;

  constructor(
    private readonly maxBytes: number,
    private readonly handlers: LineHandlers,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      if (!this.discarding) {
        if (this.size + (end - start) > this.maxBytes) {
          this.discarding = true;
          this.parts = [];
          this.size = 0;
          this.handlers.tooLong();
        } else {
          this.parts.push(chunk.subarray(start, end));
          this.size += end - start;
        }
      }
      if (newline === -1) return;
      if (!this.discarding) this.handlers.line(this.takeLine());
      this.parts = [];
      this.size = 0;
      this.discarding = false;
      start = newline + 1;
    }
  }

  private takeLine(): string {
    let bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    if (bytes.at(-1) === 0x0d) bytes = bytes.subarray(0, -1);
    return bytes.toString('utf8');
  }
}
