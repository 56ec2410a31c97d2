import type { Log } from '../shared/log.js';
import type { Admission, CircuitBreaker, FailureEffect, FailureEvidence } from './circuit-breaker.js';
import type { PostAnswer } from './http-post.js';
import { describeFailure, isDropped } from './put-failures.js';

export type Post = (
  url: URL,
  body: string | Buffer,
  headers: Record<string, string>,
  timeoutMs: number,
) => Promise<PostAnswer>;

/** One request through the circuit breaker. */
export type Exchange =
  /** Not sent: the breaker is open and this is not the probe. */
  | { kind: 'blocked' }
  /** No answer (refused, reset, timed out); already reported to the breaker, with what it did. */
  | { kind: 'failed'; reason: string; effect: FailureEffect }
  /** Answered; the caller reports to the breaker what the answer shows. */
  | { kind: 'answered'; answer: PostAnswer; admission: Admission };

/** Requests to OpenTSDB through its circuit breaker, and what they tell it (and the log). */
export class GuardedPost {
  constructor(
    readonly breaker: CircuitBreaker,
    private readonly post: Post,
    private readonly log: Log,
  ) {}

  /**
   * One request, if the breaker admits it; a request without an answer is reported as a failure: with
   * `blame` (the runs it held) when the connection was dropped after it was sent (which some content can
   * cause), without evidence when no answer came at all (which none can: see circuit-breaker.ts).
   */
  async send(
    url: URL,
    bytes: string | Buffer,
    headers: Record<string, string>,
    timeoutMs: number,
    blame?: () => FailureEvidence,
  ): Promise<Exchange> {
    const admission = this.breaker.admit();
    if (!admission) return { kind: 'blocked' };
    try {
      return { kind: 'answered', answer: await this.post(url, bytes, headers, timeoutMs), admission };
    } catch (error) {
      const reason = describeFailure(error);
      const effect = this.failed(admission, reason, undefined, isDropped(error) ? blame : undefined);
      return { kind: 'failed', reason, effect };
    }
  }

  /** The answer showed OpenTSDB failing (`evidence`: what it may be blamed on, made only when needed). */
  failed(
    admission: Admission,
    reason: string,
    points?: number,
    evidence?: () => FailureEvidence,
  ): FailureEffect {
    const effect = this.breaker.failed(admission, reason, evidence?.());
    this.log.warn('opentsdb write failed', {
      error: reason,
      ...(points === undefined ? {} : { points }),
      probe: admission.probe,
      circuit: this.breaker.state,
      ...(effect.suspect ? { suspect: true } : {}),
    });
    if (effect.opened)
      this.log.warn('opentsdb circuit opened', { error: reason, probeInMs: effect.probeInMs });
    return effect;
  }

  /** The answer showed OpenTSDB working. */
  succeeded(admission: Admission): void {
    const openForMs = this.breaker.succeeded(admission);
    if (openForMs !== undefined) this.log.info('opentsdb circuit closed', { openForMs });
  }
}
