// Finding lines in a byte stream (spec/02-chat.md, section 2).
//
// TCP delivers a stream of bytes, not messages: one read may hold half a line, or ten lines
// and the start of an eleventh. A LineReader is fed every chunk as it arrives, keeps the
// unfinished end for next time, and calls back once per complete line.
import { NotImplemented } from './todo.js';

export interface LineHandlers {
  /** A complete line, decoded, without its "\n" or a "\r" just before it. */
  line: (text: string) => void;
  /** A line passed the limit; called once per such line, as soon as it is known. */
  tooLong: () => void;
}

export class LineReader {
  constructor(
    private readonly maxBytes: number,
    private readonly handlers: LineHandlers,
  ) {}

  /**
   * Takes the next chunk of bytes from the socket and calls the handlers for every line it
   * completes, in order.
   *
   * Contract (spec/02-chat.md, section 2):
   * - a line ends at "\n" (0x0A); one "\r" just before it is removed; call handlers.line with
   *   the line decoded as UTF-8 (empty lines too: the caller ignores them);
   * - keep the bytes after the last "\n" for the next call: a line may come in many chunks,
   *   and a UTF-8 character may be cut in two between chunks, so keep bytes (Buffers) and
   *   decode only whole lines;
   * - a line holds at most maxBytes bytes before its "\n" (a "\r" counts). As soon as more than
   *   maxBytes bytes of a line have arrived with no "\n", call handlers.tooLong() once, keep
   *   nothing of that line, and drop every byte up to and including its "\n"; the next line is
   *   read normally. Never wait for the "\n" to report it: a client that never sends one must
   *   not make you hold more than maxBytes bytes.
   *
   * Useful: chunk.indexOf(0x0a, from), chunk.subarray(start, end), Buffer.concat(list),
   * buffer.toString('utf8').
   */
  push(chunk: Buffer): void {
    throw new NotImplemented('2.1', 'LineReader.push in lines.ts');
  }
}
