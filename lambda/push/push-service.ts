import type { MetricOptions } from '../config.js';
import { toDatapoints } from '../metrics/datapoints.js';
import { nodeDimensions } from '../metrics/node-dimensions.js';
import type { NodeRecord } from '../nodes/node-record.js';
import type { Datapoint } from '../opentsdb/datapoint.js';
import type { DatapointSink } from '../opentsdb/writer.js';
import { errorText } from '../shared/error-text.js';
import type { Log } from '../shared/log.js';
import { parsePush } from '../webhook/parse-push.js';
import { PushRejected, type RejectionKind } from '../webhook/push-rejected.js';
import type { TestResult } from '../webhook/test-result.js';
import { PushTokens } from './push-token.js';

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

/** The run a push carried, as the outcome's log line names it. */
export interface RunSummary {
  testId: number;
  nodeId: number;
  /** No node metadata was found: the payload's own tags were used. */
  unknownNode: boolean;
}

/** What became of the datapoints: written, refused for good (`rejected`), and the rest. */
interface Delivery {
  run: RunSummary;
  datapoints: number;
  rejected: number;
}

/**
 * What became of one push. Domain terms only: the API Gateway adapter (api-gateway.ts) alone chooses the
 * HTTP answer for each.
 */
export type PushOutcome =
  /** Not an acceptable test run: the sender must change something. */
  | { kind: 'rejected'; reason: RejectionKind; message: string }
  /** Every datapoint is in OpenTSDB (or refused by it for good). */
  | ({ kind: 'written' } & Delivery)
  /** What OpenTSDB did not take is durably kept in the spool for replay. */
  | ({ kind: 'spooled'; spooled: number } & Undelivered)
  /** Some datapoints are neither in OpenTSDB nor kept: the sender must retry. */
  | ({ kind: 'unavailable'; pending: number } & Undelivered);

/** Why some datapoints are not in OpenTSDB. */
interface Undelivered extends Delivery {
  cause: string | undefined;
  /** OpenTSDB itself failed, or its circuit breaker was open (not these points' fault). */
  opentsdbUnavailable: boolean;
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
  nodes: {
    get(nodeId: number): Promise<NodeRecord | undefined>;
    /** The answer when it is at hand (null: no record), undefined when `get` must be awaited. */
    peek?(nodeId: number): NodeRecord | null | undefined;
  };
  sink: DatapointSink;
  spool?: Spool;
  log: Log;
}

/** The identity of a run: Catchpoint resends the same (test, node, timestamp) when it retries. */
export function runKey(result: TestResult, timestamp: number): string {
  return `${result.testId}:${result.nodeId}:${timestamp}`;
}

/**
 * One push, from request to outcome: 'written' or 'spooled' only once the datapoints are in OpenTSDB or
 * durably spooled; 'rejected' with a one-line reason for input that can never succeed; 'unavailable' when
 * the datapoints could be neither written nor kept, so that Catchpoint must retry.
 */
export class PushService {
  private readonly ignoredReported = new Set<string>();

  private readonly tokens: PushTokens;

  constructor(private readonly deps: PushServiceDeps) {
    this.tokens = new PushTokens(deps.tokenHashes);
  }

  async handle(request: PushRequest): Promise<PushOutcome> {
    let result: TestResult;
    try {
      result = this.accept(request);
    } catch (error) {
      if (!(error instanceof PushRejected)) throw error;
      return { kind: 'rejected', reason: error.kind, message: error.message };
    }
    const { deps } = this;
    const peeked = deps.nodes.peek?.(result.nodeId);
    const node = peeked === undefined ? await deps.nodes.get(result.nodeId) : (peeked ?? undefined);
    const receivedAtSeconds = Math.floor(request.receivedAtMs / 1000);
    const points = toDatapoints(result, nodeDimensions(result, node), deps.metrics, receivedAtSeconds);
    const run: RunSummary = { testId: result.testId, nodeId: result.nodeId, unknownNode: node === undefined };
    if (result.ignoredFields) this.reportIgnored(result.ignoredFields, run);

    const writeDeadline = deps.spool ? request.deadlineMs - SPOOL_RESERVE_MS : request.deadlineMs;
    const outcome = await deps.sink.write(points, writeDeadline);
    const delivery: Delivery = { run, datapoints: outcome.written, rejected: outcome.rejected.length };
    if (outcome.pending.length === 0) return { kind: 'written', ...delivery };

    const undelivered = { ...delivery, cause: outcome.lastError, opentsdbUnavailable: outcome.unavailable };
    const key = runKey(result, points[0]?.timestamp ?? receivedAtSeconds);
    if (deps.spool) {
      try {
        await deps.spool.save(key, outcome.pending, request.receivedAtMs, request.deadlineMs);
        return { kind: 'spooled', ...undelivered, spooled: outcome.pending.length };
      } catch (error) {
        deps.log.error('spool write failed', { ...run, error: errorText(error) });
      }
    }
    return { kind: 'unavailable', ...undelivered, pending: outcome.pending.length };
  }

  /**
   * Says once per field (per container) that a numeric field wrote no metric because it is not on the
   * documented list (lambda/webhook/measurement-names.ts), so a new Catchpoint field is noticed.
   */
  private reportIgnored(fields: readonly string[], run: RunSummary): void {
    for (const field of fields) {
      if (this.ignoredReported.has(field) || this.ignoredReported.size >= 200) continue;
      this.ignoredReported.add(field);
      this.deps.log.warn('measurement field not on the metric list; ignored', { ...run, field });
    }
  }

  /** Checks and parses the request; throws PushRejected for anything that is not an acceptable push. */
  private accept(request: PushRequest): TestResult {
    if (request.method !== 'POST') throw new PushRejected('wrong-method', 'use POST to push test data');
    if (!this.tokens.open && !this.tokens.accepts(request.token)) {
      throw new PushRejected(
        'unauthorized',
        request.token ? 'push token not accepted' : 'push token missing: add ?token=… to the webhook URL',
      );
    }
    return parsePush(decodeBody(request), request.receivedAtMs);
  }
}

/** The body as text, refusing anything over MAX_PUSH_BYTES before decoding it. */
function decodeBody(request: PushRequest): string {
  const body = request.body ?? '';
  // Built only when thrown: an Error captures a stack, which costs more than the rest of this check.
  const tooLarge = (): PushRejected =>
    new PushRejected('too-large', `body larger than ${MAX_PUSH_BYTES} bytes`);
  if (!request.isBase64Encoded) {
    if (body.length > MAX_PUSH_BYTES || Buffer.byteLength(body, 'utf8') > MAX_PUSH_BYTES) throw tooLarge();
    return body;
  }
  if (body.length > Math.ceil(MAX_PUSH_BYTES / 3) * 4 + 4) throw tooLarge();
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length > MAX_PUSH_BYTES) throw tooLarge();
  return bytes.toString('utf8');
}
