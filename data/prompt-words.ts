/**
 * Splits a prompt into words: lower case, whitespace-separated, with ',' split off as its own
 * word (so "circle, a" is three words). An empty or blank prompt has no words.
 */
export function promptWords(prompt: string): string[] {
  return prompt
    .toLowerCase()
    .replace(/,/g, ' , ')
    .split(/\s+/)
    .filter((w) => w.length > 0);
}
