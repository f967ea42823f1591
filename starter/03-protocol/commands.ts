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
 * Throws BadReply for a frame it cannot show.
 */
export function describe(type: bigint, value: Value): string[] {
  throw new NotImplemented('3.7', 'describe in commands.ts');
}
