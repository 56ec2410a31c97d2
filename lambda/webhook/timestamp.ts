import { digitsValue } from '../shared/json-fields.js';

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
  if (text.length !== 14 && text.length !== 17) return undefined;
  // Digit by digit: this runs on every push, and a pattern and six slices cost more than the rest of it.
  if (Number.isNaN(digitsValue(text))) return undefined;
  const year = digitsValue(text, 0, 4);
  const month = digitsValue(text, 4, 6);
  const day = digitsValue(text, 6, 8);
  const hour = digitsValue(text, 8, 10);
  const minute = digitsValue(text, 10, 12);
  const second = digitsValue(text, 12, 14);
  // What Date.UTC would roll over (31 February into March, 24:00 into the next day) is no real instant.
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (ms < MIN_MS || ms > receivedAtMs + DAY_MS) return undefined;
  return Math.floor(ms / 1000);
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
