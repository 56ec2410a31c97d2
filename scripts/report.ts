// Reporting shared by `npm run bench` and `npm run load`: percentiles, fixed-width tables, number formatting.

/** A sorted copy, ascending. */
export function ascending(values: Iterable<number>): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Nearest-rank percentile (`p` in 0…1) of an ascending list; NaN when it is empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** `value` with `digits` decimals; a dash when there is no figure (NaN, infinite). */
export function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

/** A target's verdict: `ok`, or `missed` (OVER for a ceiling, UNDER for a floor). */
export function verdict(ok: boolean, missed: 'OVER' | 'UNDER' = 'OVER'): string {
  return ok ? 'ok' : missed;
}

/** A fixed-width text table: the first column left-aligned, the others right-aligned, two spaces apart. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
