import type { MetricOptions } from '../config.js';
import { toDatapoints } from '../metrics/datapoints.js';
import { nodeDimensions } from '../metrics/node-dimensions.js';
import type { NodeRecord } from '../nodes/node-record.js';
import type { Datapoint } from '../opentsdb/datapoint.js';
import type { DatapointSink } from '../opentsdb/writer.js';
import type { Log } from '../shared/log.js';
import { type Counters, MetricName } from '../shared/observability.js';
import { parsePush } from '../webhook/parse-push.js';
import { PushRejected } from '../webhook/push-rejected.js';
import type { TestResult } from '../webhook/test-result.js';
import { tokenAccepted } from './push-token.js';

/** Catchpoint's documented push limit is far below this; anything bigger is not a test run. */
export const MAX_PUSH_BYTES = 1024 * 1024;

/** Time kept back from the OpenTSDB write so that a spool write still fits before the deadline. */
export const SPOOL_RESERVE_MS = 2000;

export interface PushRequest {
  method: string;
  /** The `token` query parameter. */
  token: string | undefined;
  body: string | undefined;
  isBase64Encoded: boolean;
  receivedAtMs: number;
  /** When the answer must be on its way. */
  deadlineMs: number;
}

export interface PushAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** Keeps datapoints OpenTSDB could not take, for a later replay. */
export interface Spool {
  /** Must settle by `deadlineMs`, stored or failed. */
  save(runKey: string, points: readonly Datapoint[], nowMs: number, deadlineMs: number): Promise<void>;
}

export interface PushServiceDeps {
  /** SHA-256 digests of accepted tokens; empty accepts every push (the local server without PUSH_TOKEN). */
  tokenHashes: readonly string[];
  metrics: MetricOptions;
  nodes: { get(nodeId: number): Promise<NodeRecord | undefined> };
  sink: DatapointSink;
  spool?: Spool;
  log: Log;
  counters: Counters;
}

/** The identity of a run: Catchpoint resends the same (test, node, timestamp) when it retries. */
export function runKey(result: TestResult, timestamp: number): string {
  return `${result.testId}:${result.nodeId}:${timestamp}`;
}

/**
 * One push, from request to answer. Answers 200 only once the datapoints are in OpenTSDB (or durably
 * spooled); 4xx with a one-line reason for input that can never succeed; 503 so that Catchpoint retries.
 */
export class PushService {
  private readonly ignoredReported = new Set<string>();

  constructor(private readonly deps: PushServiceDeps) {}

  async handle(request: PushRequest): Promise<PushAnswer> {
    let result: TestResult;
    try {
      result = this.accept(request);
    } catch (error) {
      if (!(error instanceof PushRejected)) throw error;
      this.deps.counters.add(MetricName.PushesRejected, 1);
      this.deps.log.warn('push rejected', {
        outcome: 'rejected',
        status: error.status,
        reason: error.message,
      });
      return { status: error.status, body: { error: error.message } };
    }
    const { deps } = this;
    const node = await deps.nodes.get(result.nodeId);
    const receivedAtSeconds = Math.floor(request.receivedAtMs / 1000);
    const points = toDatapoints(result, nodeDimensions(result, node), deps.metrics, receivedAtSeconds);
    const context = { testId: result.testId, nodeId: result.nodeId, unknownNode: node === undefined };
    if (result.ignoredFields) this.reportIgnored(result.ignoredFields, context);
    deps.counters.add(MetricName.Pushes, 1);
    if (!node) deps.counters.add(MetricName.UnknownNodes, 1);

    const writeDeadline = deps.spool ? request.deadlineMs - SPOOL_RESERVE_MS : request.deadlineMs;
    const outcome = await deps.sink.write(points, writeDeadline);
    deps.counters.add(MetricName.DatapointsWritten, outcome.written);
    if (outcome.rejected.length > 0)
      deps.counters.add(MetricName.DatapointsRejected, outcome.rejected.length);
    const summary = { ...context, datapoints: outcome.written, rejected: outcome.rejected.length };
    if (outcome.pending.length === 0) {
      deps.log.info('push', { ...summary, outcome: 'written', status: 200 });
      return { status: 200, body: okBody(outcome.written, outcome.rejected.length) };
    }

    deps.counters.add(MetricName.OpenTsdbErrors, 1);
    const key = runKey(result, points[0]?.timestamp ?? receivedAtSeconds);
    if (deps.spool) {
      try {
        await deps.spool.save(key, outcome.pending, request.receivedAtMs, request.deadlineMs);
        deps.counters.add(MetricName.PushesSpooled, 1);
        deps.log.warn('push', {
          ...summary,
          spooled: outcome.pending.length,
          outcome: 'spooled',
          status: 200,
          reason: outcome.lastError,
        });
        return {
          status: 200,
          body: { ...okBody(outcome.written, outcome.rejected.length), spooled: outcome.pending.length },
        };
      } catch (error) {
        deps.log.error('spool write failed', {
          ...context,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    deps.counters.add(MetricName.PushesFailed, 1);
    deps.log.error('push', {
      ...summary,
      pending: outcome.pending.length,
      outcome: 'failed',
      status: 503,
      reason: outcome.lastError,
    });
    return { status: 503, body: { error: 'OpenTSDB cannot take the datapoints now; retry later' } };
  }

  /**
   * Says once per field (per container) that a numeric field wrote no metric because it is not on the
   * documented list (lambda/webhook/measurement-names.ts), so a new Catchpoint field is noticed.
   */
  private reportIgnored(fields: readonly string[], context: Record<string, unknown>): void {
    for (const field of fields) {
      if (this.ignoredReported.has(field) || this.ignoredReported.size >= 200) continue;
      this.ignoredReported.add(field);
      this.deps.log.warn('measurement field not on the metric list; ignored', { ...context, field });
    }
  }

  /** Checks and parses the request; throws PushRejected for anything that is not an acceptable push. */
  private accept(request: PushRequest): TestResult {
    if (request.method !== 'POST') throw new PushRejected(405, 'use POST to push test data');
    if (this.deps.tokenHashes.length > 0 && !tokenAccepted(request.token, this.deps.tokenHashes)) {
      throw new PushRejected(
        401,
        request.token ? 'push token not accepted' : 'push token missing: add ?token=… to the webhook URL',
      );
    }
    return parsePush(decodeBody(request), request.receivedAtMs);
  }
}

function okBody(written: number, rejected: number): Record<string, unknown> {
  return rejected > 0 ? { datapoints: written, rejected } : { datapoints: written };
}

/** The body as text, refusing anything over MAX_PUSH_BYTES before decoding it. */
function decodeBody(request: PushRequest): string {
  const body = request.body ?? '';
  // Built only when thrown: an Error captures a stack, which costs more than the rest of this check.
  const tooLarge = (): PushRejected => new PushRejected(413, `body larger than ${MAX_PUSH_BYTES} bytes`);
  if (!request.isBase64Encoded) {
    if (body.length > MAX_PUSH_BYTES || Buffer.byteLength(body, 'utf8') > MAX_PUSH_BYTES) throw tooLarge();
    return body;
  }
  if (body.length > Math.ceil(MAX_PUSH_BYTES / 3) * 4 + 4) throw tooLarge();
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length > MAX_PUSH_BYTES) throw tooLarge();
  return bytes.toString('utf8');
}
