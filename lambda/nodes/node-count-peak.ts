// The refresh's memory of how many nodes Catchpoint has listed lately, so that its "fewer than half" check
// holds an answer against the largest list of the last week rather than against what earlier partial answers
// left behind. Pure: the samples come from and go back to the nodes table (NodeTable's state item).

/** One node count a refresh accepted. */
export interface CountSample {
  /** Epoch milliseconds. */
  seenAtMs: number;
  count: number;
}

/** How long a count is remembered. */
export const PEAK_WINDOW_MS = 7 * 86_400_000;

/**
 * Far more than a week of hourly runs whose every count is lower than the one before (the only way samples
 * pile up); only a misconfigured schedule gets here, and then the newest, lowest ones are dropped.
 */
const MAX_SAMPLES = 1000;

const inWindow = (sample: CountSample, nowMs: number, windowMs: number): boolean =>
  sample.seenAtMs > nowMs - windowMs && sample.seenAtMs <= nowMs;

/** The largest count seen within `windowMs` before `nowMs` (the later one of equals); undefined when none. */
export function peakSample(
  samples: readonly CountSample[],
  nowMs: number,
  windowMs = PEAK_WINDOW_MS,
): CountSample | undefined {
  let peak: CountSample | undefined;
  for (const sample of samples) {
    if (!inWindow(sample, nowMs, windowMs)) continue;
    if (peak === undefined || sample.count > peak.count) peak = sample;
    else if (sample.count === peak.count && sample.seenAtMs > peak.seenAtMs) peak = sample;
  }
  return peak;
}

/**
 * The samples to keep once `sample` (seen now) is added: only those that can still be the peak at some
 * later time, oldest first, each smaller than the one before it (a sliding-window maximum). A sample no
 * larger than a later one can never be the peak again, and one older than the window never counts again.
 */
export function withSample(
  samples: readonly CountSample[],
  sample: CountSample,
  windowMs = PEAK_WINDOW_MS,
): CountSample[] {
  const kept = samples
    .filter((s) => inWindow(s, sample.seenAtMs, windowMs) && s.count > sample.count)
    .sort((a, b) => a.seenAtMs - b.seenAtMs);
  // Among the older, larger ones, drop any no larger than one after it (edited or out-of-order items).
  const decreasing: CountSample[] = [];
  for (const s of kept) {
    while (decreasing.length > 0 && decreasing.at(-1)!.count <= s.count) decreasing.pop();
    decreasing.push(s);
  }
  // One no later than a larger one (the same run's seed, say) can never be the peak either.
  const last = decreasing.at(-1);
  if (last === undefined || last.seenAtMs < sample.seenAtMs) decreasing.push(sample);
  return decreasing.length > MAX_SAMPLES
    ? [...decreasing.slice(0, MAX_SAMPLES - 1), decreasing.at(-1)!]
    : decreasing;
}
