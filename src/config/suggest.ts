/** Levenshtein distance; configs have short keys, so the quadratic table is cheap. */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/**
 * The closest allowed name to a typo, or undefined when nothing is close enough to be a likely
 * intent: at most a third of the name's characters differ (case ignored), or the typo is a
 * truncation such as `memory_bank` for `memory_bank_size`.
 */
export function didYouMean(word: string, allowed: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = distance(w, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.floor(Math.max(w.length, 3) / 3));
  if (bestDistance <= limit) return best;
  return w.length >= 4 ? allowed.find((candidate) => candidate.toLowerCase().startsWith(w)) : undefined;
}
