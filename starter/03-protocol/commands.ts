// The client's two translations (spec/03-protocol.md, section 12): a typed command line into a
// request, and a frame from the server into the lines to print. No I/O here.
import type { Reply } from './messages.js';
import { NotImplemented } from './todo.js';
import type { Value } from './values.js';

export type Command = { request: Reply } | { quit: true } | { problem: string } | undefined;

/**
 * One line of input: a request to send ({ request: { type, payload } }), a quit ({ quit: true }),
 * a problem to print on standard error and send nothing ({ problem }), or undefined for an empty
 * line. The commands, their requests and their defaults are the table of section 12; TEXT is the
 * rest of the line, spaces and all.
 */
export function parseCommand(line: string): Command {
  throw new NotImplemented('3.7', 'parseCommand in commands.ts');
}

/** A frame the client cannot show: the server sent something the spec does not allow. */
export class BadReply extends Error {}

/**
 * The lines to print for a frame from the server (a reply, a pushed MESSAGE or an ERROR), exactly
 * as section 12 writes them: "created alice", "message 7 from bob: hi", "error login-failed: ...".
 * Every string taken from the frame goes through shown() first. Throws BadReply for a frame it
 * cannot show.
 */
export function describe(type: bigint, value: Value): string[] {
  throw new NotImplemented('3.7', 'describe in commands.ts');
}

/**
 * A string from the server as the client prints it (spec section 12, rule 8). A text arrives
 * byte for byte as its sender wrote it, so it may hold anything: printed as it is,
 * "hi\nmessage 8 from bob: ..." would print a line bob never sent, and "\r" or ESC would make the
 * terminal rewrite what it shows. So:
 * - each line break, "\n" or "\r\n", becomes "\n" followed by two spaces (a continuation line:
 *   no line of section 12's table starts with a space);
 * - each other control character (U+0000 to U+001F except tab, U+007F, U+0080 to U+009F)
 *   becomes U+FFFD;
 * - everything else, tab included, stays as it is.
 * shown("hi\nbye\rnow") is "hi\n  bye\ufffdnow".
 */
export function shown(text: string): string {
  throw new NotImplemented('3.7', 'shown in commands.ts');
}
