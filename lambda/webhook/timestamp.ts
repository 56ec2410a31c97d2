const MIN_MS = Date.UTC(2000, 0, 1);
const DAY_MS = 86_400_000;

/**
 * Catchpoint's `yyyyMMddHHmmssfff` (17 digits, UTC; 14 digits without milliseconds are accepted too) to
 * whole epoch seconds, milliseconds dropped. undefined when it is not a real instant between 2000-01-01
 * and one day after `receivedAtMs`.
 */
export function parseCatchpointTimestamp(raw: unknown, receivedAtMs: number): number | undefined {
  let text: string;
  if (typeof raw === 'string') text = raw.trim();
  else if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw > 0) {
    // Only 14 digits fit a JSON number exactly; 17 digits exceed 2^53 and may have been rounded up into
    // the next second, so such a number is treated as no timestamp at all.
    text = String(raw);
  } else return undefined;
  if (!/^\d{14}(\d{3})?$/.test(text)) return undefined;
  const year = Number(text.slice(0, 4));
  const month = Number(text.slice(4, 6));
  const day = Number(text.slice(6, 8));
  const hour = Number(text.slice(8, 10));
  const minute = Number(text.slice(10, 12));
  const second = Number(text.slice(12, 14));
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(ms);
  // Date.UTC rolls 31 February into March: a round trip tells a real date from a rolled one.
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    return undefined;
  }
  if (ms < MIN_MS || ms > receivedAtMs + DAY_MS) return undefined;
  return Math.floor(ms / 1000);
}
