// Command-line handling shared by `npm run bench` and `npm run load`.

/** `raw` as an integer within `min`…`max`, else an error naming the option. */
export function integerOption(raw: string, name: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${name} must be an integer ${min}–${max}`);
  return n;
}
