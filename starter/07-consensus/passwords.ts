// Passwords are never stored: only a salted hash (spec/03-protocol.md, section 8), which the
// log keeps as text (spec/05-persistence.md, section 5): "scrypt:" then the salt and the hash in
// hex, joined by ":". Replaying the log must not hash anything again: the record holds the result.
//
// The salt is random per account, so two accounts with the same password get different hashes and
// a table of precomputed hashes is useless. scrypt is slow on purpose (tens of milliseconds, and
// 16 MiB of memory per guess), which costs a login little and an attacker with a stolen log a great
// deal. The comparison takes the same time wherever the bytes differ, so its timing leaks nothing.
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

const hashBytes = 32;

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  return `scrypt:${salt.toString('hex')}:${scryptSync(password, salt, hashBytes).toString('hex')}`;
}

export function checkPassword(password: string, stored: string): boolean {
  const [kind, salt, hash] = stored.split(':');
  if (kind !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'hex');
  const actual = scryptSync(password, Buffer.from(salt, 'hex'), expected.length || hashBytes);
  return expected.length === actual.length && timingSafeEqual(actual, expected);
}
