import { LRUCache } from 'lru-cache';

/**
 * A two-key lookup whose answers are remembered for ttlMs, the 10,000 most recently used (a failure is never
 * remembered; `keep` says which answers are). Concurrent askers of one key share one lookup.
 */
export function remembered<T>(
  ttlMs: number,
  lookup: (a: string, b: string) => Promise<T>,
  keep: (answer: T) => boolean = () => true,
): (a: string, b: string) => Promise<T> {
  const answers = new LRUCache<string, Promise<T>>({ max: 10_000, ttl: ttlMs });
  return (a, b) => {
    const key = `${a}\u0000${b}`;
    const known = answers.get(key);
    if (known) return known;
    const answer = lookup(a, b);
    answers.set(key, answer);
    const forget = () => {
      if (answers.peek(key) === answer) answers.delete(key);
    };
    answer.then((value) => keep(value) || forget(), forget);
    return answer;
  };
}
