// Which run times one scheduled gap repair asks Catchpoint about. Pure.
//
// Catchpoint retries a webhook for about an hour before it gives up (spec/catchpoint.md §1), so a run is
// known to have failed delivery only an hour or more after it ran: the window ends `settle` minutes before
// the scheduled time (75 by default: the hour of retries and a quarter of an hour for Catchpoint to record
// the outcome). It is `window` minutes long, which by default is the period plus 15 minutes, so consecutive
// windows overlap by those 15 minutes and a run a few minutes late on either side is still asked about. A
// retried invocation carries the same scheduled time (EventBridge's `time`), so it asks for the same window.

export interface RepairWindow {
  /** Start of the window of run times, epoch ms (inclusive). */
  fromMs: number;
  /** End, epoch ms (exclusive). */
  toMs: number;
}

const MINUTE_MS = 60_000;

/**
 * The window for a run scheduled at `scheduledAtMs`, in whole minutes (Catchpoint's times have seconds at
 * most; whole minutes make windows of consecutive periods line up exactly).
 */
export function repairWindow(
  scheduledAtMs: number,
  windowMinutes: number,
  settleMinutes: number,
): RepairWindow {
  const toMs = Math.floor(scheduledAtMs / MINUTE_MS) * MINUTE_MS - settleMinutes * MINUTE_MS;
  return { fromMs: toMs - windowMinutes * MINUTE_MS, toMs };
}

/**
 * When the invocation was scheduled: EventBridge's `time` (the same on every retry of one schedule), or the
 * time now for an invocation by hand (no or no readable `time`).
 */
export function scheduledTime(event: unknown, nowMs: number): number {
  if (typeof event === 'object' && event !== null && 'time' in event) {
    const time = (event as { time: unknown }).time;
    if (typeof time === 'string') {
      const ms = Date.parse(time);
      // A time far from now is no schedule's: a test event typed by hand, or a replayed archive.
      if (Number.isFinite(ms) && Math.abs(ms - nowMs) <= 24 * 60 * MINUTE_MS) return ms;
    }
  }
  return nowMs;
}
