/** The largest AS number (32 bits). */
export const MAX_ASN = 4_294_967_295;

/**
 * An AS number, 1 to MAX_ASN: a JSON integer, or a string of digits with an optional `AS` right before them
 * (any case) and spaces around, as Catchpoint's APIs and pushes write it: `4837`, `"4837"`, `"AS4837"`,
 * `"as4837 "` → 4837. Anything else (`"AS 4837"`, `"AS-1"`, 0, fractions, beyond 32 bits) → undefined.
 */
export function parseAsn(value: unknown): number | undefined {
  let asn: number | undefined;
  if (typeof value === 'number') asn = value;
  else if (typeof value === 'string') {
    const match = /^\s*(?:AS)?(\d{1,10})\s*$/i.exec(value);
    if (match) asn = Number(match[1]);
  }
  return asn !== undefined && Number.isSafeInteger(asn) && asn > 0 && asn <= MAX_ASN ? asn : undefined;
}
