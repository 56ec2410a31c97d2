import { Logger, type LogItem } from '@aws-lambda-powertools/logger';

/**
 * A real Powertools Logger whose JSON lines are kept in memory instead of printed: tests read what an
 * operator would see in CloudWatch (and check that secrets never get there) without cluttering the report.
 */
export class CapturingLogger extends Logger {
  private captured: string[] | undefined;

  get lines(): string[] {
    this.captured ??= [];
    return this.captured;
  }

  /** Every line as parsed JSON. */
  records(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  protected override printLog(_level: number, log: LogItem): void {
    this.lines.push(JSON.stringify(log.getAttributes()));
  }
}
