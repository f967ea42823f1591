// The chat protocol's limits and the exact text of every line the server sends
// (spec/02-chat.md). Every format lives here, so the rest of the server never spells out
// protocol text, and this file can be read side by side with the spec's table of lines.

/** A line from a client holds at most this many bytes before its "\n"; a "\r" counts (section 2). */
export const MAX_LINE_BYTES = 1024;

/** At most this many bytes of output may wait in the server for one client (section 9). */
export const OUTPUT_BOUND = 1024 * 1024;

/** A client cut off as too slow that has still not read its last line is reset after this long. */
export const CUT_OFF_GRACE_MS = 10_000;

/** A name: 1 to 16 ASCII letters, digits, "_" or "-", starting with a letter (section 3). */
const namePattern = /^[A-Za-z][A-Za-z0-9_-]{0,15}$/;

export function isValidName(name: string): boolean {
  return namePattern.test(name);
}

/** The codes of section 6; an error line is "ERR <code> <explanation>". */
export type ErrorCode =
  | 'name-invalid'
  | 'name-taken'
  | 'unknown-command'
  | 'usage'
  | 'no-such-user'
  | 'line-too-long'
  | 'slow-consumer';

export function error(code: ErrorCode, explanation: string): string {
  return `ERR ${code} ${explanation}`;
}

// Lines that start with "* " come from the server itself.
export const greeting = (): string => '* switchboard chat: choose a name (1-16 letters, digits, _ or -, starting with a letter)';
export const welcome = (name: string): string => `* welcome ${name}`;
export const joined = (name: string): string => `* ${name} joined`;
export const left = (name: string): string => `* ${name} left`;
export const users = (names: string[]): string => `* users: ${names.join(' ')}`;
export const bye = (): string => '* bye';

/**
 * A client's text as it may appear in a line sent to someone else (section 4, item 5): every
 * control character but tab becomes U+FFFD. A terminal acts on those characters instead of
 * showing them ("\r" goes back to the start of the line, ESC starts a sequence that moves the
 * cursor or erases), so "x\rbob: hi" from ann would show as a line from bob that bob never sent.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g, '\ufffd');
}

// Lines from people: a chat line goes to everyone else, a direct one to one person. The name
// comes from the server and is valid (section 3); the text comes from the client.
export const chat = (name: string, text: string): string => `${name}: ${printable(text)}`;
export const direct = (name: string, text: string): string => `${name} (direct): ${printable(text)}`;

export function help(): string[] {
  return [
    '* type a line to send it to everyone; commands:',
    '*   /users            who is here',
    '*   /msg NAME TEXT    send TEXT to NAME only',
    '*   /help             this list',
    '*   /quit             leave',
  ];
}
