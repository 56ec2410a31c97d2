import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CircuitBreaker,
  circuitBreakerFor,
  FIRST_PROBE_MS,
  LOST_PROBE_MS,
  MAX_PROBE_MS,
} from '../../lambda/opentsdb/circuit-breaker.js';

/** A breaker on a clock the test moves; `random` 0 makes every wait its nominal length. */
function breakerAt(start = 1_000_000, random = () => 0) {
  const clock = { now: start };
  const breaker = new CircuitBreaker({ now: () => clock.now, random });
  return { breaker, clock };
}

describe('circuit breaker', () => {
  it('admits every request while closed', () => {
    const { breaker } = breakerAt();
    const first = breaker.admit();
    const second = breaker.admit();
    assert.ok(first && second);
    assert.equal(first.probe, false);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.succeeded(first), undefined, 'a success while closed changes nothing');
  });

  it('opens on the first failure and refuses everything until the probe is due', () => {
    const { breaker, clock } = breakerAt();
    const admission = breaker.admit()!;
    const effect = breaker.failed(admission, 'ECONNREFUSED');
    assert.deepEqual(effect, { opened: true, probeInMs: FIRST_PROBE_MS });
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.lastFailure, 'ECONNREFUSED');
    assert.equal(breaker.admit(), undefined);
    clock.now += FIRST_PROBE_MS - 1;
    assert.equal(breaker.admit(), undefined);
    assert.equal(breaker.probeInMs, 1);
  });

  it('lets one request at a time probe; its success closes the breaker', () => {
    const { breaker, clock } = breakerAt();
    breaker.failed(breaker.admit()!, 'timeout');
    clock.now += FIRST_PROBE_MS;
    const probe = breaker.admit();
    assert.equal(probe?.probe, true);
    assert.equal(breaker.state, 'probing');
    assert.equal(breaker.admit(), undefined, 'a second request while the probe runs is refused');
    assert.equal(breaker.admit(), undefined);
    clock.now += 250;
    assert.equal(breaker.succeeded(probe!), FIRST_PROBE_MS + 250, 'says how long it was open');
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.admit()?.probe, false);
  });

  it('waits twice as long after each failed probe, up to the longest wait', () => {
    const { breaker, clock } = breakerAt();
    breaker.failed(breaker.admit()!, 'HTTP 500');
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      clock.now += breaker.probeInMs;
      const effect = breaker.failed(breaker.admit()!, 'HTTP 500');
      assert.equal(effect.opened, false, 'a failed probe reopens, it does not open anew');
      waits.push(effect.probeInMs!);
    }
    assert.deepEqual(waits, [2000, 4000, 8000, MAX_PROBE_MS, MAX_PROBE_MS, MAX_PROBE_MS, MAX_PROBE_MS]);
    // A success starts the count again.
    clock.now += breaker.probeInMs;
    breaker.succeeded(breaker.admit()!);
    assert.equal(breaker.failed(breaker.admit()!, 'reset').probeInMs, FIRST_PROBE_MS);
  });

  it('spreads the waits by up to a fifth, never longer than nominal', () => {
    const { breaker } = breakerAt(0, () => 0.999);
    const { probeInMs } = breaker.failed(breaker.admit()!, 'x');
    assert.ok(probeInMs! >= FIRST_PROBE_MS * 0.8 && probeInMs! < FIRST_PROBE_MS, String(probeInMs));
  });

  it('ignores results of requests admitted before the last change of state', () => {
    const { breaker, clock } = breakerAt();
    const early = breaker.admit()!;
    const hanging = breaker.admit()!;
    breaker.failed(early, 'reset');
    // A request from before the outage reports late: it neither reopens nor closes anything.
    assert.deepEqual(breaker.failed(hanging, 'timeout'), { opened: false });
    assert.equal(breaker.succeeded(hanging), undefined);
    assert.equal(breaker.state, 'open');
    clock.now += FIRST_PROBE_MS;
    const probe = breaker.admit()!;
    breaker.succeeded(probe);
    // After recovery, the old request's failure does not reopen the breaker.
    assert.deepEqual(breaker.failed(hanging, 'timeout'), { opened: false });
    assert.equal(breaker.state, 'closed');
  });

  it('gives the probe slot to the next request when the probe proved nothing', () => {
    const { breaker, clock } = breakerAt();
    breaker.failed(breaker.admit()!, 'reset');
    clock.now += FIRST_PROBE_MS;
    const probe = breaker.admit()!;
    breaker.released(probe);
    assert.equal(breaker.state, 'open');
    const next = breaker.admit();
    assert.equal(next?.probe, true, 'the next request probes at once');
  });

  it('a probe that never reports is taken as lost after a minute: the next request probes', () => {
    const { breaker, clock } = breakerAt();
    breaker.failed(breaker.admit()!, 'reset');
    clock.now += FIRST_PROBE_MS;
    const lost = breaker.admit()!;
    clock.now += LOST_PROBE_MS - 1;
    assert.equal(breaker.admit(), undefined);
    clock.now += 1;
    const next = breaker.admit();
    assert.equal(next?.probe, true);
    assert.equal(breaker.succeeded(lost), undefined, 'the lost one reports too late to count');
    breaker.succeeded(next!);
    assert.equal(breaker.state, 'closed');
  });

  it('disabled: admits everything and never opens (the behaviour without a breaker)', () => {
    const breaker = CircuitBreaker.disabled();
    for (let i = 0; i < 5; i++) assert.deepEqual(breaker.failed(breaker.admit()!, 'down'), { opened: false });
    assert.equal(breaker.state, 'closed');
    assert.ok(breaker.admit());
  });

  it('one breaker per OpenTSDB per process; reset() closes it', () => {
    const a = circuitBreakerFor('http://tsdb-a.test:4242');
    assert.equal(circuitBreakerFor('http://tsdb-a.test:4242'), a);
    assert.notEqual(circuitBreakerFor('http://tsdb-b.test:4242'), a);
    a.failed(a.admit()!, 'down');
    assert.equal(a.state, 'open');
    a.reset();
    assert.equal(a.state, 'closed');
    assert.equal(a.lastFailure, undefined);
  });
});

describe('circuit breaker: evidence that OpenTSDB fails for everyone', () => {
  const whole = (...runs: string[]) => ({ runs: new Set(runs), perPoint: false });
  const perPoint = (...runs: string[]) => ({ runs: new Set(runs), perPoint: true });

  it("never opens on one run's failures, however many: each is suspect", () => {
    const { breaker } = breakerAt();
    for (let i = 0; i < 20; i++) {
      const evidence = i % 2 === 0 ? whole('run-a') : perPoint('run-a');
      assert.deepEqual(breaker.failed(breaker.admit()!, 'HTTP 500', evidence), {
        opened: false,
        suspect: true,
      });
    }
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.lastFailure, undefined);
  });

  it('opens on failures of two runs with nothing in common and no success between', () => {
    const { breaker } = breakerAt();
    breaker.failed(breaker.admit()!, 'HTTP 500', whole('run-a'));
    const effect = breaker.failed(breaker.admit()!, 'HTTP 500', whole('run-b'));
    assert.equal(effect.opened, true);
    assert.equal(effect.probeInMs, FIRST_PROBE_MS);
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.lastFailure, 'HTTP 500');
  });

  it('requests sharing a run are no evidence against each other; one with nothing in common with any is', () => {
    const { breaker } = breakerAt();
    assert.equal(breaker.failed(breaker.admit()!, 'x', whole('a', 'b')).suspect, true);
    assert.equal(breaker.failed(breaker.admit()!, 'x', whole('b', 'c')).suspect, true);
    assert.equal(breaker.failed(breaker.admit()!, 'x', whole('a', 'c')).suspect, true);
    assert.equal(breaker.state, 'closed');
    assert.equal(
      breaker.failed(breaker.admit()!, 'x', whole('b', 'd')).opened,
      true,
      'nothing in common with a, c',
    );
  });

  it('points of two runs failing on their own in one request open it at once; a request failing whole does not', () => {
    const many = breakerAt().breaker;
    assert.equal(many.failed(many.admit()!, 'Storage exception', perPoint('a', 'b')).opened, true);
    const one = breakerAt().breaker;
    assert.equal(one.failed(one.admit()!, 'HTTP 500', whole('a', 'b')).suspect, true);
    assert.equal(one.state, 'closed');
  });

  it('a success forgets the evidence gathered before it', () => {
    const { breaker } = breakerAt();
    breaker.failed(breaker.admit()!, 'x', whole('a'));
    breaker.succeeded(breaker.admit()!);
    assert.equal(breaker.failed(breaker.admit()!, 'x', whole('b')).suspect, true);
    assert.equal(breaker.state, 'closed');
    breaker.reset();
    assert.equal(breaker.failed(breaker.admit()!, 'x', whole('c')).suspect, true, 'reset forgets it too');
  });

  it('a failure without evidence (no answer at all) opens it at once, as does a failed probe whatever its evidence', () => {
    const { breaker, clock } = breakerAt();
    breaker.failed(breaker.admit()!, 'x', whole('a'));
    assert.equal(breaker.failed(breaker.admit()!, 'ECONNREFUSED').opened, true);
    clock.now += breaker.probeInMs;
    const effect = breaker.failed(breaker.admit()!, 'HTTP 500', whole('a'));
    assert.deepEqual([effect.opened, effect.suspect, breaker.state], [false, undefined, 'open']);
    assert.equal(effect.probeInMs, 2 * FIRST_PROBE_MS);
  });

  it('disabled: never opens, and never calls a failure suspect', () => {
    const breaker = CircuitBreaker.disabled();
    for (const run of ['a', 'b', 'c'])
      assert.deepEqual(breaker.failed(breaker.admit()!, 'x', whole(run)), { opened: false });
  });
});
