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
    // The one-shot form: no Hash object per push.
    const digest = hash('sha256', token, 'buffer');
    let matched = false;
    for (const expected of this.digests) {
      if (expected.length === digest.length && timingSafeEqual(expected, digest)) matched = true;
    }
    return matched;
  }
}
