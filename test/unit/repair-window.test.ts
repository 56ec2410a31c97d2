import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { repairWindow, scheduledTime } from '../../lambda/backfill/repair-window.js';

const at = (iso: string) => Date.parse(iso);

describe('gap repair window', () => {
  it('ends the settle time before the scheduled minute and is the window long', () => {
    const w = repairWindow(at('2026-11-24T14:00:27.500Z'), 75, 75);
    assert.equal(new Date(w.fromMs).toISOString(), '2026-11-24T11:30:00.000Z');
    assert.equal(new Date(w.toMs).toISOString(), '2026-11-24T12:45:00.000Z');
  });

  it('leaves no gap between consecutive periods: each window starts before the previous one ended', () => {
    for (let hour = 0; hour < 48; hour++) {
      const previous = repairWindow(at('2026-11-24T00:00:00Z') + hour * 3_600_000, 75, 75);
      const next = repairWindow(at('2026-11-24T00:00:00Z') + (hour + 1) * 3_600_000, 75, 75);
      assert.equal(previous.toMs - next.fromMs, 15 * 60_000);
    }
  });

  it("takes EventBridge's scheduled time, or now for an invocation by hand or a time far from now", () => {
    const now = at('2026-11-24T14:03:10Z');
    assert.equal(scheduledTime({ time: '2026-11-24T14:00:00Z' }, now), at('2026-11-24T14:00:00Z'));
    assert.equal(scheduledTime({}, now), now);
    assert.equal(scheduledTime(undefined, now), now);
    assert.equal(scheduledTime({ time: 'soon' }, now), now);
    assert.equal(scheduledTime({ time: '2020-01-01T00:00:00Z' }, now), now);
  });
});
