// The push's one log line: valid embedded metric format, the outcome's fields, and at most 300 bytes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PushFacts, pushRecord } from '../../lambda/push/push-record.js';
import type { PushOutcome } from '../../lambda/push/push-service.js';
import { METRICS_NAMESPACE } from '../../lambda/shared/observability.js';

/** As large as real ids get: 7-digit test ids, 5-digit node ids, an API Gateway request id. */
const run = { testId: 9_999_999, nodeId: 99_999, unknownNode: false };
const facts: PushFacts = { status: 200, ms: 14_999, requestId: 'JKJaXmPLvHcESHA=', nowMs: 1_796_136_689_561 };

type Line = Record<string, unknown> & {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
  };
};

function read(
  outcome: PushOutcome,
  status = 200,
): { line: string; json: Line; metrics: Record<string, number> } {
  const line = pushRecord(outcome, { ...facts, status });
  assert.doesNotMatch(line, /\n/);
  const json = JSON.parse(line) as Line;
  // EMF: one directive in our namespace, no dimension, and each metric's value at the root as a number.
  assert.equal(json._aws.Timestamp, facts.nowMs);
  assert.equal(json._aws.CloudWatchMetrics.length, 1);
  const [directive] = json._aws.CloudWatchMetrics;
  assert.equal(directive!.Namespace, METRICS_NAMESPACE);
  assert.deepEqual(directive!.Dimensions, [[]]);
  const metrics: Record<string, number> = {};
  for (const { Name } of directive!.Metrics) {
    assert.equal(typeof json[Name], 'number', `${Name} has a value`);
    metrics[Name] = json[Name] as number;
  }
  // Nothing of the Lambda context: the log group names the function.
  for (const key of Object.keys(json)) assert.doesNotMatch(key, /^function_|cold_start|service|xray/);
  return { line, json, metrics };
}

describe('pushRecord', () => {
  it('a written push: one line of at most 300 bytes with its metric, outcome, ids, duration and request id', () => {
    const { line, json, metrics } = read({ kind: 'written', run, datapoints: 33, rejected: 0 });
    assert.ok(Buffer.byteLength(`${line}\n`) <= 300, `${Buffer.byteLength(line) + 1} bytes: ${line}`);
    assert.deepEqual(metrics, { DatapointsWritten: 33 });
    assert.equal(json.outcome, 'written');
    assert.equal(json.status, 200);
    assert.equal(json.testId, run.testId);
    assert.equal(json.nodeId, run.nodeId);
    assert.equal(json.ms, facts.ms);
    assert.equal(json.requestId, facts.requestId);
    assert.equal(json.level, undefined, 'Lambda takes a line without level as INFO');
  });

  it('still fits when the node is unknown (a property a metric filter counts) and points were refused', () => {
    const { line, json, metrics } = read({
      kind: 'written',
      run: { ...run, unknownNode: true },
      datapoints: 31,
      rejected: 2,
    });
    assert.equal(json.unknownNode, 1);
    assert.deepEqual(metrics, { DatapointsWritten: 31, DatapointsRejected: 2 });
    assert.ok(Buffer.byteLength(`${line}\n`) <= 350, `${Buffer.byteLength(line) + 1} bytes`);
  });

  it('a spooled push is a WARN line with the spooled count, the reason and the OpenTSDB metrics', () => {
    const { json, metrics } = read({
      kind: 'spooled',
      run,
      datapoints: 0,
      rejected: 0,
      spooled: 33,
      cause: 'OpenTSDB failing, not asked before the next probe: ECONNREFUSED',
      opentsdbUnavailable: true,
    });
    assert.equal(json.level, 'WARN');
    assert.equal(json.outcome, 'spooled');
    assert.equal(json.spooled, 33);
    assert.match(String(json.reason), /ECONNREFUSED/);
    assert.deepEqual(metrics, {
      DatapointsWritten: 0,
      PushesSpooled: 1,
      OpenTsdbErrors: 1,
      OpenTsdbUnavailable: 1,
    });
  });

  it('an unavailable push is an ERROR line, outcome failed, with what is pending', () => {
    const { json, metrics } = read(
      {
        kind: 'unavailable',
        run,
        datapoints: 10,
        rejected: 0,
        pending: 23,
        cause: 'HTTP 500',
        opentsdbUnavailable: false,
      },
      503,
    );
    assert.equal(json.level, 'ERROR');
    assert.equal(json.outcome, 'failed');
    assert.equal(json.status, 503);
    assert.equal(json.pending, 23);
    assert.deepEqual(metrics, { DatapointsWritten: 10, PushesFailed: 1, OpenTsdbErrors: 1 });
  });

  it('a rejected push: one short WARN line, the reason escaped, never a raw string spliced in', () => {
    const message = 'TestId is missing: "quoted"\nsecond line \u2028';
    const { line, json, metrics } = read({ kind: 'rejected', reason: 'invalid', message }, 400);
    assert.equal(json.reason, message);
    assert.equal(json.status, 400);
    assert.equal(json.outcome, 'rejected');
    assert.deepEqual(metrics, { PushesRejected: 1 });
    assert.equal(json.testId, undefined);
    assert.ok(Buffer.byteLength(line) < 400);
  });
});
