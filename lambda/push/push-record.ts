// The one log line of a push: its outcome and its CloudWatch metrics together, in embedded metric format
// (EMF: the metrics are read out of the line, the other properties stay searchable in Logs Insights). At
// millions of pushes a day every byte is paid for at ingestion, so the line is held to 300 bytes (a test on
// the bundled function checks it): no Lambda context (the log group names the function), no units (CloudWatch
// stores "None"; no alarm names a unit), no dimension (the push function's metric names are its own),
// `Pushes` is the SampleCount of DatapointsWritten, which every accepted push reports, and a push from an
// unknown node says `"unknownNode":1`, which a metric filter of the stack counts as UnknownNodes (16 bytes
// where an EMF metric would take 41).
// Powertools' Metrics cannot write this: it always adds units and the `service` dimension (about 360 bytes).
import { METRICS_NAMESPACE, MetricName } from '../shared/observability.js';
import type { PushOutcome } from './push-service.js';

/** What the adapter knows of the push besides its outcome. */
export interface PushFacts {
  /** The HTTP status answered. */
  status: number;
  /** Time from receipt to answer. */
  ms: number;
  /** API Gateway's request id: the same as in the API access log. */
  requestId: string | undefined;
  /** Epoch milliseconds of the answer (the metrics' timestamp). */
  nowMs: number;
}

type Metrics = [name: string, value: number][];

/** The metrics a push contributes, from its outcome alone. */
export function pushMetrics(outcome: PushOutcome): Metrics {
  if (outcome.kind === 'rejected') return [[MetricName.PushesRejected, 1]];
  const metrics: Metrics = [[MetricName.DatapointsWritten, outcome.datapoints]];
  if (outcome.rejected > 0) metrics.push([MetricName.DatapointsRejected, outcome.rejected]);
  if (outcome.kind === 'written') return metrics;
  metrics.push([outcome.kind === 'spooled' ? MetricName.PushesSpooled : MetricName.PushesFailed, 1]);
  metrics.push([MetricName.OpenTsdbErrors, 1]);
  if (outcome.opentsdbUnavailable) metrics.push([MetricName.OpenTsdbUnavailable, 1]);
  return metrics;
}

/** The line, without its newline. Strings from outside (reasons) are JSON-escaped, never spliced raw. */
export function pushRecord(outcome: PushOutcome, facts: PushFacts): string {
  const metrics = pushMetrics(outcome);
  let line = `{"_aws":{"Timestamp":${facts.nowMs},"CloudWatchMetrics":[{"Namespace":"${METRICS_NAMESPACE}","Dimensions":[[]],"Metrics":[`;
  line += metrics.map(([name]) => `{"Name":"${name}"}`).join(',');
  line += ']}]}';
  for (const [name, value] of metrics) line += `,"${name}":${value}`;
  // Lambda takes a line without "level" as INFO; the others say theirs, for its log-level filter and queries.
  if (outcome.kind === 'rejected') {
    line += `,"level":"WARN","outcome":"rejected","status":${facts.status},"reason":${JSON.stringify(outcome.message)}`;
  } else {
    if (outcome.kind === 'spooled') line += ',"level":"WARN"';
    else if (outcome.kind === 'unavailable') line += ',"level":"ERROR"';
    const { run } = outcome;
    line += `,"outcome":"${outcome.kind === 'unavailable' ? 'failed' : outcome.kind}","status":${facts.status}`;
    line += `,"testId":${run.testId},"nodeId":${run.nodeId}`;
    if (run.unknownNode) line += ',"unknownNode":1';
    if (outcome.kind === 'spooled') line += `,"spooled":${outcome.spooled}`;
    if (outcome.kind === 'unavailable') line += `,"pending":${outcome.pending}`;
    if (outcome.kind !== 'written' && outcome.cause !== undefined)
      line += `,"reason":${JSON.stringify(outcome.cause)}`;
  }
  line += `,"ms":${facts.ms}`;
  if (facts.requestId !== undefined) line += `,"requestId":${JSON.stringify(facts.requestId)}`;
  return `${line}}`;
}
