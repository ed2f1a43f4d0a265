/**
 * Redis-style glob matching (`*`, `?`, `[abc]`, `[^a-z]`, `\x`), used only to route messages
 * delivered locally (opt-in) to pattern subscriptions the same way Redis would.
 */
export function globMatch(pattern: string, text: string): boolean {
  return matchAt(pattern, 0, text, 0);
}

function matchAt(p: string, pi: number, s: string, si: number): boolean {
  while (pi < p.length) {
    const c = p[pi];
    if (c === '*') {
      while (p[pi] === '*') pi++;
      if (pi === p.length) return true;
      for (let k = si; k <= s.length; k++) if (matchAt(p, pi, s, k)) return true;
      return false;
    }
    if (si >= s.length) return false;
    if (c === '?') {
      pi++;
      si++;
      continue;
    }
    if (c === '[') {
      const end = p.indexOf(']', pi + 2);
      if (end !== -1) {
        let i = pi + 1;
        const negate = p[i] === '^';
        if (negate) i++;
        let hit = false;
        const ch = s[si] as string;
        while (i < end) {
          if (p[i] === '\\' && i + 1 < end) {
            if (p[i + 1] === ch) hit = true;
            i += 2;
          } else if (p[i + 1] === '-' && i + 2 < end) {
            const lo = p[i] as string;
            const hi = p[i + 2] as string;
            if ((ch >= lo && ch <= hi) || (ch >= hi && ch <= lo)) hit = true;
            i += 3;
          } else {
            if (p[i] === ch) hit = true;
            i++;
          }
        }
        if (hit === negate) return false;
        pi = end + 1;
        si++;
        continue;
      }
    }
    if (c === '\\' && pi + 1 < p.length) pi++;
    if (p[pi] !== s[si]) return false;
    pi++;
    si++;
  }
  return si === s.length;
}
