// How a lab 2 test's trace shows its messages: one per line (spec/02-chat.md section 2), named
// by what the line is (section 11): a chat line, a notice, an error with its code, a command.
// Not a test file; the harness loads it for the lab's traces (see labs/AUTHORING.md, Traces).
import type { Decoded, DecoderFactory, StreamDecoder } from '../../../grader/harness/trace.js';

/** What kind of line this is, from its start, as section 11 tells them apart. */
export function lineType(line: string): string {
  if (line.startsWith('/')) return `command ${line.split(' ')[0]!.slice(0, 16)}`;
  if (line.startsWith('ERR ')) return `ERR ${line.split(' ')[1] ?? ''}`.trimEnd();
  if (line.startsWith('* ')) {
    if (line.startsWith('* welcome ')) return 'welcome';
    if (line.startsWith('* users: ')) return 'users';
    if (line === '* bye') return 'bye';
    if (/^\* \S+ joined$/.test(line)) return 'joined';
    if (/^\* \S+ left$/.test(line)) return 'left';
    return 'notice';
  }
  if (/^\S+ \(direct\): /.test(line)) return 'direct';
  if (/^\S+: /.test(line)) return 'chat';
  return 'line';
}

const maxPending = 64 * 1024;
const shownBytes = 120;

class Lines implements StreamDecoder {
  private rest = Buffer.alloc(0);

  push(chunk: Buffer): Decoded[] {
    const out: Decoded[] = [];
    let start = 0;
    let at = chunk.indexOf(0x0a);
    if (this.rest.length && at >= 0) {
      // The line begun in earlier chunks ends here: only it is copied, not the whole chunk.
      out.push(this.line(Buffer.concat([this.rest, chunk.subarray(0, at + 1)])));
      this.rest = Buffer.alloc(0);
      start = at + 1;
      at = chunk.indexOf(0x0a, start);
    }
    for (; at >= 0; at = chunk.indexOf(0x0a, start)) {
      out.push(this.line(chunk.subarray(start, at + 1)));
      start = at + 1;
    }
    // A copy, so that a big chunk is not kept alive by its last few bytes.
    if (start < chunk.length) this.rest = this.rest.length ? Buffer.concat([this.rest, chunk.subarray(start)]) : Buffer.from(chunk.subarray(start));
    if (this.rest.length > maxPending) {
      // No newline in sight: shown as it is, so that a flood of one endless line stays cheap.
      out.push({ type: 'no newline', text: `${this.rest.length} bytes with no newline: ${JSON.stringify(this.rest.subarray(0, 80).toString('utf8'))}…`, raw: this.rest });
      this.rest = Buffer.alloc(0);
    }
    return out;
  }

  pending(): Buffer {
    return this.rest;
  }

  private line(raw: Buffer): Decoded {
    // Only the start of a long line is read (the picture shows no more); its size stays whole.
    const length = raw.length - 1;
    const line = raw.subarray(0, Math.min(length, shownBytes)).toString('utf8').replace(/\r$/, '');
    return { type: lineType(line), text: JSON.stringify(line) + (length > shownBytes ? `… (${length} bytes)` : ''), raw };
  }
}

const decoders: DecoderFactory = () => new Lines();
export default decoders;
