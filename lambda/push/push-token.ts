import { createHash, hash, timingSafeEqual } from 'node:crypto';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The accepted push tokens, as SHA-256 digests (the stack never sees a token). A token is checked against
 * every digest in constant time, so timing tells nothing about which matched or how closely.
 */
export class PushTokens {
  private readonly digests: readonly Buffer[];
  /**
   * Tokens already found to match a digest (at most one per digest). Every push of a webhook carries the
   * same token, and hashing it costs a warm push more CPU than the rest of its checks together; a token
   * seen before is compared with these instead, as timing-safely.
   */
  private readonly known: string[] = [];

  constructor(hashes: readonly string[]) {
    // Decoded once, not on every push.
    this.digests = hashes.map((hash) => Buffer.from(hash, 'hex'));
  }

  /** No digest configured: every push is accepted (the local server without PUSH_TOKEN). */
  get open(): boolean {
    return this.digests.length === 0;
  }

  accepts(token: string | undefined): boolean {
    if (token === undefined || token === '' || token.length > 1024) return false;
    let known = false;
    for (const accepted of this.known) if (sameText(token, accepted)) known = true;
    if (known) return true;
    // The one-shot form: no Hash object per push.
    const digest = hash('sha256', token, 'buffer');
    let matched = false;
    for (const expected of this.digests) {
      if (expected.length === digest.length && timingSafeEqual(expected, digest)) matched = true;
    }
    if (matched && this.known.length < this.digests.length) this.known.push(token);
    return matched;
  }
}

/**
 * Whether `text` equals `accepted`, in a time that depends only on `accepted`'s length: every unit is
 * compared, without a branch on the data (charCodeAt past the end of `text` is NaN, which `| 0` makes 0).
 */
function sameText(text: string, accepted: string): boolean {
  let difference = text.length ^ accepted.length;
  for (let i = 0; i < accepted.length; i++) difference |= (text.charCodeAt(i) | 0) ^ accepted.charCodeAt(i);
  return difference === 0;
}
