// Wildcard patterns for LIST_ACCOUNTS (spec/03-protocol.md, section 8).
import { NotImplemented } from './todo.js';

/**
 * True if `pattern` matches all of `name`: `*` matches any run of characters (the empty one too),
 * `?` exactly one character, anything else itself, case-sensitively. So "a*" matches "alice",
 * "b?b" matches "bob" but not "bobby", and "" matches nothing.
 *
 * Keep it polynomial: turning the pattern into a RegExp invites backtracking that takes seconds on
 * patterns such as "*a*a*a*a*a*a*a*a*b". Walk the two strings, remembering the last `*`.
 */
export function matches(pattern: string, name: string): boolean {
  throw new NotImplemented('3.3', 'matches in wildcard.ts');
}
