// OpenTSDB's Tags.validateString: which metric names, tag names and tag values a TSD takes, in puts and in
// /api/uid/assign alike.
import { OpenTsdbMessages } from './messages.js';

/** Tags.validateString: null, empty, then per-unit characters. The error text, or null when `name` is valid. */
export function validateName(what: string, name: string | null): string | null {
  if (name === null) return OpenTsdbMessages.nullName(what);
  if (name === '') return OpenTsdbMessages.emptyName(what);
  const unit = firstIllegalUnit(name);
  return unit === null ? null : OpenTsdbMessages.illegalCharacter(what, name, unit);
}

const LETTER = /^\p{L}$/u;

/** The first UTF-16 unit OpenTSDB's Tags.validateString refuses, or null. */
function firstIllegalUnit(name: string): string | null {
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    const unit = name[i]!;
    if (
      (code >= 0x61 && code <= 0x7a) ||
      (code >= 0x41 && code <= 0x5a) ||
      (code >= 0x30 && code <= 0x39) ||
      unit === '-' ||
      unit === '_' ||
      unit === '.' ||
      unit === '/'
    ) {
      continue;
    }
    // Java's Character.isLetter(char) on one unit: a surrogate half is never a letter.
    if (code >= 0xd800 && code <= 0xdfff) return unit;
    if (LETTER.test(unit)) continue;
    return unit;
  }
  return null;
}
