import { memoized } from '../shared/memoized.js';

/** Longer values are cut: one tag must never push a single point past OpenTSDB's 8 KiB request limit. */
export const MAX_TAG_LENGTH = 200;

const ALLOWED_ASCII = /[A-Za-z0-9\-_./]/;
const LETTER = /\p{L}/u;

/**
 * A tag value OpenTSDB accepts: NFC-normalised; each UTF-16 unit that is not an ASCII letter or digit,
 * `-`, `_`, `.`, `/` or a letter becomes `_` (so do both halves of a surrogate pair, as OpenTSDB checks
 * units); runs of `_` collapse, edges are trimmed; empty or absent becomes `unknown`.
 */
export function cleanTagValue(raw: string | number | undefined | null): string {
  if (raw === undefined || raw === null) return 'unknown';
  return cleanCached(String(raw));
}

// Node attributes repeat push after push; a long value (a payload's, never a node's) is cleaned each time.
const cleanCached = memoized((raw) => cleanUncached(raw), { limit: 8192, maxKeyLength: MAX_TAG_LENGTH * 2 });

function cleanUncached(raw: string): string {
  const text = raw.normalize('NFC');
  let out = '';
  for (let i = 0; i < text.length && out.length <= MAX_TAG_LENGTH * 2; i++) {
    const unit = text[i]!;
    const code = unit.charCodeAt(0);
    const ok =
      code < 128 ? ALLOWED_ASCII.test(unit) : code < 0xd800 || code > 0xdfff ? LETTER.test(unit) : false;
    out += ok ? unit : '_';
  }
  out = out.replace(/_+/g, '_').replace(/^_+|_+$/g, '');
  if (out.length > MAX_TAG_LENGTH) out = out.slice(0, MAX_TAG_LENGTH).replace(/_+$/, '');
  return out === '' ? 'unknown' : out;
}
