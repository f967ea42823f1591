// Passwords are never stored: only a salted hash (spec/03-protocol.md, section 8).
//
// The salt is random per account, so two accounts with the same password get different hashes and
// a table of precomputed hashes is useless. scrypt is slow on purpose (tens of milliseconds, and
// 16 MiB of memory per guess), which costs a login little and an attacker with a stolen table a
// great deal. The comparison takes the same time wherever the bytes differ, so its timing leaks
// nothing. The synchronous calls block the server for that time; a busier server would use the
// asynchronous scrypt and answer each connection's requests in order.
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

export interface PasswordHash {
  salt: Buffer;
  hash: Buffer;
}

const hashBytes = 32;

export function hashPassword(password: string): PasswordHash {
  const salt = randomBytes(16);
  return { salt, hash: scryptSync(password, salt, hashBytes) };
}

export function checkPassword(password: string, stored: PasswordHash): boolean {
  return timingSafeEqual(scryptSync(password, stored.salt, hashBytes), stored.hash);
}
