/**
 * Fails writes fast while OpenTSDB is failing, so that an outage costs a push a spool write, not seconds of
 * retries (at 200 pushes/s, 6 s of retries each would hold 1,200 Lambdas).
 *
 * - closed: every request goes. It opens only on evidence that OpenTSDB fails for everyone, not for some
 *   content (OpenTSDB has exceptions that follow particular points: a 5xx, a dropped connection, a storage
 *   failure or a `sync_timeout` for one run's points):
 *   - at once on a failure reported without evidence: no answer at all (connection refused, no route, no
 *     answer within the request's timeout, which is longer than the `sync_timeout` by which a working TSD
 *     answers whatever it was sent). No content does that, and an outage then answers in milliseconds from
 *     the first failure on, as before;
 *   - otherwise (a 5xx, an unreadable answer, a connection dropped after the request was sent, every point
 *     failing in storage or timing out), the writer says which runs the failure may be blamed on
 *     (`FailureEvidence`), and it opens when failures since the last success come from at least two
 *     different runs: one request whose points of two or more runs each failed in storage, or two failed
 *     requests with no run in common. A failure of one run's points alone (a poisoned push, the resend of
 *     one run's points) never opens it: the writer hands those points back pending (`suspect`) and the next
 *     request, of other runs, decides. An outage is thus recognised by the second push of an instance.
 *   Any answer showing OpenTSDB storing points (a request with one point stored) forgets that evidence.
 * - open: requests are refused at once until the next probe is due: 1 s after opening, then twice as long
 *   after each failed probe, up to 16 s (each wait less up to a fifth at random, so that Lambdas opened
 *   together do not probe together). A Lambda handles one push at a time: against a hanging OpenTSDB, one
 *   push in each such interval (the probe) waits out its request timeout, and every other push goes
 *   straight to the spool.
 * - probing: the first request admitted once the probe is due is the probe (an ordinary write); every other
 *   one is refused until it ends. Its success closes the breaker, its failure opens it again (whatever the
 *   evidence: OpenTSDB was already shown failing for everyone, and it is one request); an answer
 *   that proves nothing either way (a refused request, a body too large) gives the slot to the next request,
 *   and so does a probe that has reported nothing for LOST_PROBE_MS.
 *
 * Each admission carries the breaker's generation: a result reported by a request admitted before the last
 * change of state (a request still hanging from before the outage, say) changes nothing.
 */

export type CircuitState = 'closed' | 'open' | 'probing';

/** Leave to send one request; report its result with the same admission. */
export interface Admission {
  readonly generation: number;
  readonly probe: boolean;
}

export interface CircuitBreakerOptions {
  /** Wait before the first probe. */
  firstProbeMs?: number;
  /** Longest wait between probes. */
  maxProbeMs?: number;
  now?: () => number;
  random?: () => number;
}

export const FIRST_PROBE_MS = 1000;
export const MAX_PROBE_MS = 16_000;
/**
 * A probe that has reported nothing for this long was lost (a defect, or an invocation cut short): the next
 * request probes instead, so that a lost probe can never hold the breaker open for good. Every request is
 * bounded far below this by its own timeout.
 */
export const LOST_PROBE_MS = 60_000;

/**
 * What a failure that OpenTSDB answered (or dropped) may be blamed on: the runs of the points involved. A
 * run is whatever the writer was told groups points (one push; a spooled run), or one write call.
 */
export interface FailureEvidence {
  /**
   * perPoint false: the runs of every point of a request that failed as a whole (any one of them may have
   * caused it). perPoint true: the runs of the points that each failed on their own (in storage, timed out)
   * in a request where none was stored: each run is evidence apart.
   */
  runs: ReadonlySet<string>;
  perPoint: boolean;
}

/** What a reported failure did. */
export interface FailureEffect {
  /** The breaker went from closed to open. */
  opened: boolean;
  /** When the next probe is due, if the breaker is open. */
  probeInMs?: number;
  /**
   * The breaker stayed closed: the failure may be its runs' own (their content), not OpenTSDB's. The
   * writer gives those points back pending rather than resend the same content.
   */
  suspect?: boolean;
}

/** Failures of different runs kept as evidence since the last success (more prove nothing more). */
const MAX_SUSPECTS = 16;

export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private generation = 0;
  private failedProbes = 0;
  private probeAtMs = 0;
  private probeStartedAtMs = 0;
  private openedAtMs = 0;
  private failure: string | undefined;
  /** The runs of each failure (with evidence) since the last success, while closed. */
  private readonly suspects: Array<ReadonlySet<string>> = [];
  private readonly firstProbeMs: number;
  private readonly maxProbeMs: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    options: CircuitBreakerOptions = {},
    /** false: a breaker that never opens (the behaviour without one, kept as a yardstick). */
    private readonly enabled = true,
  ) {
    this.firstProbeMs = options.firstProbeMs ?? FIRST_PROBE_MS;
    this.maxProbeMs = options.maxProbeMs ?? MAX_PROBE_MS;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** A breaker that admits every request and never opens. */
  static disabled(): CircuitBreaker {
    return new CircuitBreaker({}, false);
  }

  get state(): CircuitState {
    return this.current;
  }

  /** Why the breaker opened (the failure that opened it, or the last failed probe's). */
  get lastFailure(): string | undefined {
    return this.failure;
  }

  /** Milliseconds until a request may probe; 0 when one may now (or the breaker is closed). */
  get probeInMs(): number {
    return this.current === 'open' ? Math.max(0, this.probeAtMs - this.now()) : 0;
  }

  /** Leave to send one request now, or undefined: OpenTSDB is failing and it is not the probe's turn. */
  admit(): Admission | undefined {
    if (this.current === 'closed') return { generation: this.generation, probe: false };
    const now = this.now();
    if (this.current === 'probing' ? now - this.probeStartedAtMs < LOST_PROBE_MS : now < this.probeAtMs)
      return undefined;
    this.change('probing');
    this.probeStartedAtMs = now;
    return { generation: this.generation, probe: true };
  }

  /** The request got an answer that shows OpenTSDB working. Returns how long the breaker was open if this closed it. */
  succeeded(admission: Admission): number | undefined {
    if (admission.generation !== this.generation) return undefined;
    if (this.current === 'closed') {
      this.suspects.length = 0;
      return undefined;
    }
    if (this.current !== 'probing') return undefined;
    this.failedProbes = 0;
    this.change('closed');
    return this.now() - this.openedAtMs;
  }

  /**
   * The request met OpenTSDB failing. Without `evidence` (no answer at all), open (or reopen) the breaker;
   * with it, open only once failures of different runs show OpenTSDB failing for everyone (see above). A
   * failed probe reopens it whatever the evidence.
   */
  failed(admission: Admission, reason: string, evidence?: FailureEvidence): FailureEffect {
    if (!this.enabled || admission.generation !== this.generation) return { opened: false };
    if (evidence !== undefined && this.current === 'closed' && !this.showsEveryoneFailing(evidence)) {
      if (this.suspects.length >= MAX_SUSPECTS) this.suspects.shift();
      this.suspects.push(evidence.runs);
      return { opened: false, suspect: true };
    }
    const opened = this.current === 'closed';
    if (opened) {
      this.openedAtMs = this.now();
      this.failedProbes = 0;
    } else {
      this.failedProbes++;
    }
    const nominal = Math.min(this.maxProbeMs, this.firstProbeMs * 2 ** this.failedProbes);
    const wait = Math.round(nominal * (1 - 0.2 * this.random()));
    this.probeAtMs = this.now() + wait;
    this.failure = reason;
    this.change('open');
    return { opened, probeInMs: wait };
  }

  /** The request's answer proved nothing either way: a probe's slot goes to the next request. */
  released(admission: Admission): void {
    if (admission.generation === this.generation && this.current === 'probing') this.change('open');
  }

  /** Closed, as new (tests start each scenario with a healthy OpenTSDB). */
  reset(): void {
    this.failedProbes = 0;
    this.suspects.length = 0;
    this.failure = undefined;
    this.change('closed');
  }

  /** Points of two runs each failing, or this failure and an earlier one with no run in common. */
  private showsEveryoneFailing(evidence: FailureEvidence): boolean {
    if (evidence.perPoint && evidence.runs.size >= 2) return true;
    return this.suspects.some((earlier) => ![...earlier].some((run) => evidence.runs.has(run)));
  }

  private change(state: CircuitState): void {
    this.suspects.length = 0;
    this.current = state;
    this.generation++;
  }
}

const breakers = new Map<string, CircuitBreaker>();

/**
 * The process's breaker for the OpenTSDB at `baseUrl`, shared by every writer of the process (as the
 * keep-alive pool is): whatever learns that OpenTSDB is failing, or back, tells them all.
 */
export function circuitBreakerFor(baseUrl: string): CircuitBreaker {
  let breaker = breakers.get(baseUrl);
  if (!breaker) {
    breaker = new CircuitBreaker();
    breakers.set(baseUrl, breaker);
  }
  return breaker;
}
