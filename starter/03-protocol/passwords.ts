// Passwords are never stored: only a salted hash (spec/03-protocol.md, section 8).
import { NotImplemented } from './todo.js';

export interface PasswordHash {
  salt: Buffer;
  hash: Buffer;
}

/**
 * A new random salt (16 bytes or more) and the password's hash with it, from a slow key-derivation
 * function. Useful: crypto.randomBytes(), crypto.scryptSync(password, salt, 32).
 */
export function hashPassword(password: string): PasswordHash {
  throw new NotImplemented('3.3', 'hashPassword in passwords.ts');
}

/** True if `password` hashes to `stored.hash` with `stored.salt`; compare with crypto.timingSafeEqual(). */
export function checkPassword(password: string, stored: PasswordHash): boolean {
  throw new NotImplemented('3.3', 'checkPassword in passwords.ts');
}
