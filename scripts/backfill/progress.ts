// Progress of a backfill on stderr: on a terminal a bar (cli-progress) with the rate and its ETA; elsewhere
// (a pipe, a log file, CI) a plain line every few seconds.
import cliProgress from 'cli-progress';

export interface ProgressCounts {
  runsWritten: number;
  runsSkipped: number;
  datapoints: number;
}

export interface Progress {
  /** `total` windows, of which `done` were finished before (a resumed backfill). */
  start(total: number, done: number): void;
  update(done: number, counts: ProgressCounts): void;
  /** A message that must not tear the bar (a retry, a wait for the rate limits). */
  note(message: string): void;
  stop(): void;
}

export function progressFor(stream: NodeJS.WriteStream, intervalMs = 5000): Progress {
  return stream.isTTY ? new BarProgress(stream) : new LineProgress(stream, intervalMs);
}

class BarProgress implements Progress {
  private readonly bars: cliProgress.MultiBar;
  private bar: cliProgress.SingleBar | undefined;
  private startedAt = Date.now();

  constructor(stream: NodeJS.WriteStream) {
    this.bars = new cliProgress.MultiBar(
      {
        stream,
        format:
          'backfill {bar} {value}/{total} windows | {runs} runs ({skipped} already stored) | {rate} runs/s | ETA {eta_formatted}',
        hideCursor: true,
        etaBuffer: 20,
        fps: 4,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  start(total: number, done: number): void {
    this.startedAt = Date.now();
    this.bar = this.bars.create(total, done, { runs: 0, skipped: 0, rate: '0.0' });
  }

  update(done: number, counts: ProgressCounts): void {
    const seconds = Math.max(1, (Date.now() - this.startedAt) / 1000);
    this.bar?.update(done, {
      runs: counts.runsWritten,
      skipped: counts.runsSkipped,
      rate: ((counts.runsWritten + counts.runsSkipped) / seconds).toFixed(1),
    });
  }

  note(message: string): void {
    this.bars.log(`${message}\n`);
  }

  stop(): void {
    this.bars.stop();
  }
}

class LineProgress implements Progress {
  private total = 0;
  private firstDone = 0;
  private done = 0;
  private counts: ProgressCounts = { runsWritten: 0, runsSkipped: 0, datapoints: 0 };
  private startedAt = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly intervalMs: number,
  ) {}

  start(total: number, done: number): void {
    this.total = total;
    this.firstDone = done;
    this.done = done;
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.print(), this.intervalMs);
    this.timer.unref();
  }

  update(done: number, counts: ProgressCounts): void {
    this.done = done;
    this.counts = { ...counts };
  }

  note(message: string): void {
    this.stream.write(`${message}\n`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private print(): void {
    const seconds = Math.max(1, (Date.now() - this.startedAt) / 1000);
    const runs = this.counts.runsWritten + this.counts.runsSkipped;
    const windowsNow = this.done - this.firstDone;
    const eta =
      windowsNow > 0 ? formatDuration(((this.total - this.done) * seconds * 1000) / windowsNow) : 'unknown';
    this.stream.write(
      `backfill: ${this.done}/${this.total} windows, ${this.counts.runsWritten} runs written, ` +
        `${this.counts.runsSkipped} already stored, ${this.counts.datapoints} datapoints, ` +
        `${(runs / seconds).toFixed(1)} runs/s, ETA ${eta}\n`,
    );
  }
}

/** `1h02m`, `3m10s`, `12s`. */
export function formatDuration(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d${String(hours % 24).padStart(2, '0')}h`;
}
