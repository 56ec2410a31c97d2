/** Reading loosely-typed JSON: Catchpoint's default JSON has numbers, its templates have strings of any case. */

export type JsonObject = { readonly [key: string]: unknown };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field by name, exact spelling first, then ignoring case (template authors spell as they like). */
export function field(obj: JsonObject, name: string): unknown {
  if (Object.hasOwn(obj, name)) return obj[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(obj)) {
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
    const text = value.trim();
    if (text.length === 0 || text.length > 64 || !DECIMAL.test(text)) return undefined;
    const n = Number(text);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Template booleans arrive as "True"/"False"; default JSON flags as 0/1. */
export function isRaised(value: unknown): boolean {
  if (value === true) return true;
  if (typeof value === 'number') return Number.isFinite(value) && value !== 0;
  if (typeof value === 'string') {
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
