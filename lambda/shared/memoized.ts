/**
 * `compute` remembered per key: Catchpoint names the same few fields and nodes push after push, so each is
 * worked out once. Bounded whatever arrives: keys longer than `maxKeyLength` (a payload's, never Catchpoint's)
 * are computed each time, never kept, and the memory is forgotten whole once it holds `limit` keys.
 * `compute` must not return undefined (use null for "nothing").
 */
export function memoized<V>(
  compute: (key: string) => V,
  options: { limit: number; maxKeyLength: number },
): (key: string) => V {
  const known = new Map<string, V>();
  return (key) => {
    if (key.length > options.maxKeyLength) return compute(key);
    let value = known.get(key);
    if (value === undefined) {
      value = compute(key);
      if (known.size >= options.limit) known.clear();
      known.set(key, value);
    }
    return value;
  };
}
