// What Catchpoint's node lists write where they know nothing. Such a value is no value: it never overwrites
// what the table knows, and never becomes a tag.

/** Words that stand for "not known", compared trimmed and in lower case. */
const PLACEHOLDER_WORDS: ReadonlySet<string> = new Set([
  'n/a',
  'n.a.',
  'not available',
  'not applicable',
  'unknown',
  'none',
  'null',
  'undefined',
]);

/** Empty, only spaces or punctuation (`-`, `--`, `?`, `.`), or one of the words above. */
export function isPlaceholder(text: string): boolean {
  const trimmed = text.trim();
  return /^[\p{P}\p{S}\s]*$/u.test(trimmed) || PLACEHOLDER_WORDS.has(trimmed.toLowerCase());
}

/** The trimmed string, or undefined when `value` is not a string or is a placeholder. */
export function knownText(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return isPlaceholder(value) ? undefined : value.trim();
}
