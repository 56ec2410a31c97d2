// The only place a push's outcome becomes an HTTP status: every outcome kind and rejection reason.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerFor } from '../../lambda/push/api-gateway.js';
import type { PushOutcome } from '../../lambda/push/push-service.js';
import type { RejectionKind } from '../../lambda/webhook/push-rejected.js';

const run = { testId: 1, nodeId: 2, unknownNode: false };

describe('answerFor', () => {
  it('maps each rejection to its 4xx, with the reason as the error', () => {
    const expected: Record<RejectionKind, number> = {
      invalid: 400,
      unauthorized: 401,
      'wrong-method': 405,
      'too-large': 413,
      'unsupported-format': 415,
    };
    for (const [reason, status] of Object.entries(expected) as [RejectionKind, number][]) {
      const answer = answerFor({ kind: 'rejected', reason, message: `why ${reason}` });
      assert.deepEqual(answer, { status, body: { error: `why ${reason}` } }, reason);
    }
  });

  it('answers 200 with the counts once the datapoints are safe', () => {
    const written: PushOutcome = { kind: 'written', run, datapoints: 20, rejected: 0 };
    assert.deepEqual(answerFor(written), { status: 200, body: { datapoints: 20 } });
    assert.deepEqual(answerFor({ ...written, rejected: 2 }), {
      status: 200,
      body: { datapoints: 20, rejected: 2 },
    });
    const spooled: PushOutcome = {
      kind: 'spooled',
      run,
      datapoints: 5,
      rejected: 0,
      spooled: 15,
      cause: 'ECONNREFUSED',
      opentsdbUnavailable: true,
    };
    assert.deepEqual(answerFor(spooled), { status: 200, body: { datapoints: 5, spooled: 15 } });
  });

  it('answers 503 when the datapoints are neither written nor kept, without the cause', () => {
    const answer = answerFor({
      kind: 'unavailable',
      run,
      datapoints: 0,
      rejected: 0,
      pending: 20,
      cause: 'ECONNREFUSED 10.0.0.1',
      opentsdbUnavailable: true,
    });
    assert.equal(answer.status, 503);
    assert.doesNotMatch(JSON.stringify(answer.body), /ECONNREFUSED/);
  });
});
