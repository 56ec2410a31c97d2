/**
 * The `error` tag of a failed run, from a small fixed vocabulary (docs/metrics.md): every value becomes a
 * UID in OpenTSDB for good, so a sender must never be able to mint new ones through free text.
 */

/** Catchpoint's documented error flags, other than `Any`, as their tag values. */
export const ERROR_FLAGS = [
  'connection',
  'dns',
  'load',
  'loadobjects',
  'timeout',
  'transaction',
  'ssl',
  'systemlimit',
] as const;

const DOCUMENTED: ReadonlySet<string> = new Set(ERROR_FLAGS);

/**
 * `code` when it is a whole number of at most 10 digits (`12029`, `"12029"`); otherwise the first raised
 * documented flag; `other` when only undocumented flags are raised; `any` when none but `Any` is.
 * `raisedFlags` are the lower-cased names of the non-zero flags in payload order, `any` included or not.
 */
export function errorTag(code: unknown, raisedFlags: readonly string[]): string {
  const digits = typeof code === 'number' ? (Number.isInteger(code) ? String(code) : '') : String(code ?? '');
  if (/^\d{1,10}$/.test(digits.trim())) return String(Number(digits.trim()));
  let undocumented = false;
  for (const flag of raisedFlags) {
    if (DOCUMENTED.has(flag)) return flag;
    if (flag !== 'any') undocumented = true;
  }
  return undocumented ? 'other' : 'any';
}
