// Wildcard patterns for LIST_ACCOUNTS (spec/03-protocol.md, section 8): `*` matches any run of
// characters, `?` exactly one, anything else itself; the pattern must cover the whole name.
//
// The match walks both strings once, remembering only the last `*` seen: on a mismatch, that star
// swallows one more character and matching resumes after it. That takes at most
// pattern length x name length steps. (Turning the pattern into a RegExp would be shorter, but a
// backtracking engine can take exponential time on patterns such as `*a*a*a*a*a*b`.)
export function matches(pattern: string, name: string): boolean {
  const p = [...pattern];
  const s = [...name];
  let i = 0; // position in the pattern
  let j = 0; // position in the name
  let star = -1; // where the last `*` was in the pattern
  let resume = 0; // where in the name that star's match currently ends
  while (j < s.length) {
    if (i < p.length && (p[i] === '?' || (p[i] !== '*' && p[i] === s[j]))) {
      i++;
      j++;
    } else if (i < p.length && p[i] === '*') {
      star = i++;
      resume = j;
    } else if (star >= 0) {
      i = star + 1;
      j = ++resume;
    } else {
      return false;
    }
  }
  while (i < p.length && p[i] === '*') i++;
  return i === p.length;
}
