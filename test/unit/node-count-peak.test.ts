import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CountSample,
  PEAK_WINDOW_MS,
  peakSample,
  withSample,
} from '../../lambda/nodes/node-count-peak.js';

const T = Date.UTC(2026, 10, 25, 12);
const HOUR = 3_600_000;
const at = (hours: number, count: number): CountSample => ({ seenAtMs: T + hours * HOUR, count });

describe('peakSample', () => {
  it('is the largest count of the last week, the later of equals', () => {
    const samples = [at(0, 900), at(1, 1000), at(2, 1000), at(3, 700)];
    assert.deepEqual(peakSample(samples, T + 4 * HOUR), at(2, 1000));
  });

  it('forgets a count a week after it was seen, and ignores counts from the future', () => {
    const samples = [at(0, 1000), at(5, 600)];
    assert.deepEqual(peakSample(samples, T + PEAK_WINDOW_MS - 1), at(0, 1000));
    assert.deepEqual(peakSample(samples, T + PEAK_WINDOW_MS), at(5, 600));
    assert.equal(peakSample(samples, T + PEAK_WINDOW_MS + 5 * HOUR), undefined);
    assert.equal(peakSample([at(10, 5000)], T), undefined);
  });
});

describe('withSample', () => {
  it('keeps only what can still be the peak: older and larger, oldest first', () => {
    let samples: CountSample[] = [];
    for (const [hour, count] of [
      [0, 1000],
      [1, 600],
      [2, 800],
      [3, 400],
    ] as const) {
      samples = withSample(samples, at(hour, count));
    }
    assert.deepEqual(samples, [at(0, 1000), at(2, 800), at(3, 400)]);
    assert.deepEqual(withSample(samples, at(4, 900)), [at(0, 1000), at(4, 900)]);
    assert.deepEqual(withSample(samples, at(4, 1000)), [at(4, 1000)]);
  });

  it('drops counts older than the window', () => {
    assert.deepEqual(withSample([at(0, 1000), at(30, 800)], at(24 * 7 + 1, 100)), [
      at(30, 800),
      at(169, 100),
    ]);
  });

  it('puts an edited, unordered list back in order', () => {
    assert.deepEqual(withSample([at(3, 500), at(1, 900), at(2, 950)], at(4, 10)), [
      at(2, 950),
      at(3, 500),
      at(4, 10),
    ]);
  });

  it('stays small however many runs a week holds', () => {
    let samples: CountSample[] = [];
    for (let minute = 0; minute < 7 * 24 * 60; minute++) {
      samples = withSample(samples, { seenAtMs: T + minute * 60_000, count: 20_000 - minute });
    }
    assert.ok(samples.length <= 1000, `${samples.length} samples`);
    assert.deepEqual(samples[0], { seenAtMs: T, count: 20_000 });
  });
});
