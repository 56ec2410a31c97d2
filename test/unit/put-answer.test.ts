import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OpenTsdbMessages } from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import type { PostAnswer } from '../../lambda/opentsdb/http-post.js';
import {
  isFinalReason,
  isUnknownMetricReason,
  readAssignErrors,
  readPutAnswer,
} from '../../lambda/opentsdb/put-answer.js';
import { SYNC_MARGIN_MS, syncTimeoutFor } from '../../lambda/opentsdb/writer.js';

const json = (status: number, body: unknown): PostAnswer => ({ status, body: JSON.stringify(body) });
const text = (status: number, body: string): PostAnswer => ({ status, body });

describe('reading an /api/put?details answer', () => {
  it('204, or a summary of every point with none failed: all stored', () => {
    assert.deepEqual(readPutAnswer(text(204, ''), 3), { kind: 'stored' });
    assert.deepEqual(readPutAnswer(json(200, { success: 3, failed: 0, errors: [] }), 3), { kind: 'stored' });
  });

  it('a 200 or 400 summary accounting for every point, some failed: read point by point', () => {
    const errors = [{ datapoint: { metric: 'm', timestamp: 5, value: '1', tags: { a: 'b' } }, error: 'x' }];
    for (const status of [200, 400]) {
      assert.deepEqual(readPutAnswer(json(status, { success: 2, failed: 1, errors }), 3), {
        kind: 'partial',
        success: 2,
        failed: 1,
        errors: [{ metric: 'm', timestamp: 5, tags: { a: 'b' }, reason: 'x' }],
      });
    }
  });

  it('a passed sync_timeout (a 400 counting timeouts apart from failed): read point by point, never unreadable', () => {
    const errors = [
      {
        datapoint: { metric: 'm', timestamp: 5, value: '1', tags: { a: 'b' } },
        error: OpenTsdbMessages.writeTimedOut,
      },
      {
        datapoint: { metric: 'm', timestamp: 6, value: '1', tags: { a: 'b' } },
        error: OpenTsdbMessages.storage,
      },
    ];
    assert.deepEqual(readPutAnswer(json(400, { success: 1, failed: 1, timeouts: 1, errors }), 3), {
      kind: 'partial',
      success: 1,
      failed: 1,
      timeouts: 1,
      errors: [
        { metric: 'm', timestamp: 5, tags: { a: 'b' }, reason: OpenTsdbMessages.writeTimedOut },
        { metric: 'm', timestamp: 6, tags: { a: 'b' }, reason: OpenTsdbMessages.storage },
      ],
    });
    // Without details: the counts alone.
    assert.deepEqual(readPutAnswer(json(400, { success: 0, failed: 0, timeouts: 3 }), 3), {
      kind: 'partial',
      success: 0,
      failed: 0,
      timeouts: 3,
      errors: [],
    });
    // Counts that do not add up with the timeouts are still unreadable.
    for (const body of [
      { success: 1, failed: 1, timeouts: 2 },
      { success: 1, failed: 2, timeouts: 1 },
      { success: 1, failed: 0, timeouts: -2 },
      { success: 1, failed: 0, timeouts: '2' },
    ]) {
      const read = readPutAnswer(json(400, body), 3);
      assert.equal(read.kind, 'unreadable', JSON.stringify(body));
      assert.match((read as { reason: string }).reason, /timeouts/);
    }
  });

  it('storage failures under sync: a 200 whose failed > 0 is read point by point', () => {
    const errors = [
      {
        datapoint: { metric: 'm', timestamp: 5, value: '1', tags: { a: 'b' } },
        error: OpenTsdbMessages.storage,
      },
    ];
    assert.deepEqual(readPutAnswer(json(200, { success: 2, failed: 1, errors }), 3), {
      kind: 'partial',
      success: 2,
      failed: 1,
      errors: [{ metric: 'm', timestamp: 5, tags: { a: 'b' }, reason: OpenTsdbMessages.storage }],
    });
  });

  it('nothing known stored: an empty or HTML 200, a body that is not JSON, counts that do not add up, a 5xx', () => {
    const cases: [PostAnswer, RegExp][] = [
      [text(200, ''), /HTTP 200 with an empty body/],
      [text(200, '<html><body>Service Unavailable</body></html>'), /not JSON/],
      [json(200, { success: 4, failed: 0 }), /success 4 and failed 0 of 3/],
      [json(200, { success: 1, failed: 1, errors: [] }), /success 1 and failed 1 of 3/],
      [json(400, { success: '3', failed: 0 }), /success 3 and failed 0 of 3/],
      [json(200, { stored: true }), /not a put summary/],
      [json(200, []), /not a put summary/],
      [text(400, '{"error":'), /HTTP 400 with a body that is not JSON/],
      [
        json(503, { error: { code: 503, message: 'Overloaded', trace: 'x'.repeat(5000) } }),
        /^HTTP 503: Overloaded$/,
      ],
      [text(502, '<html>Bad Gateway</html>'), /^HTTP 502$/],
      [text(404, ''), /^HTTP 404$/],
    ];
    for (const [answer, reason] of cases) {
      const read = readPutAnswer(answer, 3);
      assert.equal(read.kind, 'unreadable', answer.body);
      assert.match((read as { reason: string }).reason, reason);
    }
  });

  it('a 400 error without details refuses the whole request; the HTML "chunked" 400 means too large', () => {
    assert.deepEqual(
      readPutAnswer(json(400, { error: { code: 400, message: 'Unable to parse the given JSON' } }), 3),
      {
        kind: 'refused',
        reason: 'HTTP 400: Unable to parse the given JSON',
      },
    );
    const chunked = `<html><body>The reason provided was:<blockquote>${OpenTsdbMessages.chunked}</blockquote></body></html>`;
    assert.deepEqual(readPutAnswer(text(400, chunked), 3), { kind: 'too-large' });
    assert.deepEqual(readPutAnswer(text(413, ''), 3), { kind: 'too-large' });
  });
});

describe('per-point reasons', () => {
  it("only OpenTSDB's validation reasons are final", () => {
    const final = [
      OpenTsdbMessages.metricEmpty,
      OpenTsdbMessages.invalidTimestamp,
      OpenTsdbMessages.emptyValue,
      OpenTsdbMessages.missingTags,
      OpenTsdbMessages.notANumber,
      OpenTsdbMessages.illegalCharacter('tag value', 'a,b', ','),
      OpenTsdbMessages.illegalCharacter('metric name', 'a b', ' '),
      OpenTsdbMessages.tooManyTags(9, 8, '{…}'),
      OpenTsdbMessages.emptyName('tag value'),
      OpenTsdbMessages.nullName('tag name'),
    ];
    for (const reason of final) assert.equal(isFinalReason(reason), true, reason);
  });

  it('every other reason is transient, whatever it says', () => {
    const transient = [
      OpenTsdbMessages.throttle,
      OpenTsdbMessages.storage,
      'Storage exception: org.hbase.async.PleaseThrottleException: 10000 RPCs waiting',
      OpenTsdbMessages.writeTimedOut,
      'Timeout exception',
      OpenTsdbMessages.unseenException,
      'java.lang.NullPointerException',
      'unknown error',
      '',
    ];
    for (const reason of transient) assert.equal(isFinalReason(reason), false, reason);
  });

  it('knows "Unknown metric" in both of its texts; it is not final by itself', () => {
    assert.equal(isUnknownMetricReason('Unknown metric'), true);
    assert.equal(isUnknownMetricReason(OpenTsdbMessages.unknownMetric('catchpoint.rtt.by_node')), true);
    assert.equal(isUnknownMetricReason("No such name for 'metrics': 'x'"), true);
    assert.equal(isFinalReason(OpenTsdbMessages.unknownMetric('x')), false);
  });
});

describe('reading an /api/uid/assign answer', () => {
  it('a JSON 200 registered everything; a readable 400 names what it refused; anything else says nothing', () => {
    assert.deepEqual(readAssignErrors(json(200, { metric: { a: '000001' } })), new Map());
    assert.deepEqual(
      readAssignErrors(
        json(400, { metric: {}, metric_errors: { a: 'Name already exists with UID: 000001' } }),
      ),
      new Map([['a', 'Name already exists with UID: 000001']]),
    );
    assert.equal(readAssignErrors(text(200, '')), undefined);
    assert.equal(readAssignErrors(text(200, '<html></html>')), undefined);
    assert.equal(readAssignErrors(json(500, { error: { message: 'x' } })), undefined);
    assert.equal(readAssignErrors(json(400, { error: { message: 'x' } })), undefined);
  });
});

describe('sync_timeout', () => {
  it('is the request timeout less a margin, never 0 (which OpenTSDB reads as "forever")', () => {
    assert.equal(syncTimeoutFor(3000), 3000 - SYNC_MARGIN_MS);
    assert.equal(syncTimeoutFor(400), 300, 'a short request keeps a quarter of its time');
    assert.equal(syncTimeoutFor(1), 1);
    for (const ms of [1, 2, 3, 10, 100, 999, 1000, 1001, 30_000]) {
      const sync = syncTimeoutFor(ms);
      assert.ok(sync >= 1 && sync <= ms && (sync < ms || ms < 4), `${ms} → ${sync}`);
    }
  });

  it('is a whole number of ms when the time left is not', () => {
    for (const ms of [0.5, 2.5, 399.9, 2999.7, 2999.9]) {
      const sync = syncTimeoutFor(ms);
      assert.ok(Number.isInteger(sync) && sync >= 1 && sync <= Math.max(1, ms), `${ms} → ${sync}`);
    }
  });
});
