import { createHash, timingSafeEqual } from 'node:crypto';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * True when the token's SHA-256 equals one of the accepted digests. Digests are compared in constant time
 * and every one is checked, so timing tells nothing about which matched or how closely.
 */
export function tokenAccepted(token: string | undefined, acceptedHashes: readonly string[]): boolean {
  if (token === undefined || token === '' || token.length > 1024) return false;
  const digest = createHash('sha256').update(token, 'utf8').digest();
  let matched = false;
  for (const hash of acceptedHashes) {
    const expected = Buffer.from(hash, 'hex');
    if (expected.length === digest.length && timingSafeEqual(expected, digest)) matched = true;
  }
  return matched;
}
