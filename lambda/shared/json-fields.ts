/** Reading loosely-typed JSON: Catchpoint's default JSON has numbers, its templates have strings of any case. */

export type JsonObject = { readonly [key: string]: unknown };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field by name, exact spelling first, then ignoring case (template authors spell as they like). */
export function field(obj: JsonObject, name: string): unknown {
  if (Object.hasOwn(obj, name)) return obj[name];
  // Most lookups that get here find nothing (a field of the other format): only keys of the name's length
  // are lower-cased, so a miss costs no string per key. The names are ASCII, and a key that lower-cases to
  // an ASCII name has its length.
  let lower: string | undefined;
  for (const key in obj) {
    if (key.length !== name.length || !Object.hasOwn(obj, key)) continue;
    lower ??= name.toLowerCase();
    if (key.toLowerCase() === lower) return obj[key];
  }
  return undefined;
}

export function objectField(obj: JsonObject, name: string): JsonObject | undefined {
  const value = field(obj, name);
  return isObject(value) ? value : undefined;
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A finite number from a JSON number or a decimal string; "" and anything else is absent. */
export function toFiniteNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') {
    // Templates write whole numbers ("812"): read digit by digit, sparing the pattern and Number.
    if (value.length > 0 && value.length <= 15) {
      const n = digitsValue(value);
      if (!Number.isNaN(n)) return n;
    }
    const text = value.trim();
    if (text.length === 0 || text.length > 64 || !DECIMAL.test(text)) return undefined;
    const n = Number(text);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/**
 * The whole number the ASCII digits of text[from, to) write, NaN when anything else is there. Exact up to 15
 * digits. Cheaper than a pattern and Number for the short numbers every push carries.
 */
export function digitsValue(text: string, from = 0, to = text.length): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number.NaN;
    n = n * 10 + digit;
  }
  return n;
}

/** Template booleans arrive as "True"/"False"; default JSON flags as 0/1. */
export function isRaised(value: unknown): boolean {
  if (value === true) return true;
  if (typeof value === 'number') return Number.isFinite(value) && value !== 0;
  if (typeof value === 'string') {
    // What templates render, at no cost; anything else is read in full below.
    if (value === 'False' || value === '0' || value === '') return false;
    if (value === 'True' || value === '1') return true;
    const text = value.trim().toLowerCase();
    if (text === 'true') return true;
    const n = toFiniteNumber(text);
    return n !== undefined && n !== 0;
  }
  return false;
}

/** An error code that says there was an error: not empty, `0` or `False` (templates render "no error" so). */
export function isErrorCode(text: string): boolean {
  const t = text.trim();
  return t !== '' && t !== '0' && t.toLowerCase() !== 'false';
}
