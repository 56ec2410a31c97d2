import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RAW_METRIC_RULES, rawMetricKey, rawMetricRule } from '../../lambda/backfill/metric-map.js';
import { rawToRuns, utcSeconds } from '../../lambda/backfill/raw-runs.js';
import { bridgeMetricNames, DETAIL_PREFIX, detailMetric } from '../../lambda/metrics/metric-names.js';

/** A raw answer's `data` as the published description shapes it: metrics listed out of index order. */
function answer(
  metrics: string[],
  items: { values: (number | null)[]; dims?: unknown[]; dateTime?: string }[],
) {
  return {
    responseItems: [
      {
        startTimeUtc: '2026-11-20T00:00:00',
        endTimeUtc: '2026-11-20T06:00:00',
        hasMoreRecords: false,
        dimensions: [],
        metrics: metrics.map((name, index) => ({ index, name })).reverse(),
        items: items.map((item) => ({
          dateTime: item.dateTime ?? '2026-11-20T01:04:12.345',
          reportDate: '2026-11-20T01:04:12',
          values: item.values,
          dimensions: item.dims ?? [
            { type: { id: 1, name: 'Test' }, id: 101, name: 'Home' },
            { type: { id: 2, name: 'Node' }, id: 77, name: 'Osaka, JP - KDDI' },
          ],
          indicators: [],
          tracepoints: [],
        })),
        summaryItems: [{ dateTime: null, values: [1, 2, 3] }],
      },
    ],
    hasMore: false,
  };
}

describe('the raw metric table', () => {
  it('reads the 2015 and the 2022 spellings of a name alike', () => {
    for (const [a, b] of [
      ['DNS (ms)', 'Dns (ms)'],
      ['# Connections', '#Connections'],
      ['# Hosts', '#Hosts'],
      ['SSL (ms)', 'ssl'],
      ['Document Complete (ms)', 'document complete'],
    ]) {
      assert.equal(rawMetricKey(a!), rawMetricKey(b!));
      assert.ok(rawMetricRule(a!), a);
    }
    assert.equal(rawMetricKey('# Items (Total)'), '#items(total)', 'only a unit in brackets is dropped');
    assert.equal(rawMetricRule('# Items (Total)'), undefined);
    assert.equal(rawMetricRule('Speed Index'), undefined);
    assert.equal(rawMetricRule('constructor'), undefined, 'no inherited property is a rule');
  });

  it('maps only to measurement names the push path writes', () => {
    const names = bridgeMetricNames();
    for (const [key, rule] of Object.entries(RAW_METRIC_RULES)) {
      if (rule.kind !== 'measurement') continue;
      assert.ok(names.has(detailMetric(DETAIL_PREFIX[rule.group], rule.suffix)), key);
    }
  });
});

describe('rawToRuns', () => {
  it('reads values by their metric index, drops nulls, and counts names no rule maps', () => {
    const metrics = ['Response (ms)', 'Dns (ms)', 'Speed Index', '#Connections', '% Availability'];
    const read = rawToRuns(
      answer(metrics, [{ values: [812, null, 1200, 6, 100] }, { values: [90, 3, null, null, 100] }]),
    );
    assert.equal(read.runs.length, 2);
    const [first, second] = read.runs;
    assert.deepEqual([...first!.timing], [['total', 812]]);
    assert.deepEqual([...first!.counters], [['connections', 6]]);
    assert.deepEqual(
      [...second!.timing],
      [
        ['total', 90],
        ['dns', 3],
      ],
    );
    assert.equal(first!.timestamp, Date.UTC(2026, 10, 20, 1, 4, 12) / 1000);
    assert.equal(first!.testId, 101);
    assert.equal(first!.nodeId, 77);
    assert.equal(first!.nodeName, 'Osaka, JP - KDDI');
    assert.equal(first!.failed, false);
    assert.deepEqual([...read.unmapped], [['Speed Index', 1]]);
    assert.equal(read.statusUnknown, 0);
  });

  it('marks a run failed from its availability and failure metrics, with the flag as its error tag', () => {
    const metrics = ['% Availability', '# DNS Failures', '# Timeout Failures', '% Content Availability'];
    const read = rawToRuns(
      answer(metrics, [
        { values: [0, 1, 0, 100] },
        { values: [0, 0, 1, 100] },
        { values: [0, 0, 0, 100] },
        { values: [100, 0, 0, 80] },
        { values: [100, 0, 0, 100] },
      ]),
    );
    assert.deepEqual(
      read.runs.map((r) => (r.failed ? r.errorName : 'ok')),
      ['dns', 'timeout', 'any', 'loadobjects', 'ok'],
    );
  });

  it('counts a run with no availability metric, and items that are no run', () => {
    const read = rawToRuns(
      answer(
        ['Response (ms)'],
        [
          { values: [5] },
          { values: [5], dims: [{ type: { id: 1, name: 'Test' }, id: 101, name: 'x' }] },
          { values: [5], dateTime: 'yesterday' },
        ],
      ),
    );
    assert.equal(read.runs.length, 1);
    assert.equal(read.statusUnknown, 1);
    assert.equal(read.unreadable, 2);
  });

  it('finds the test and node by the enumeration ids when given', () => {
    const dims = [
      { type: { id: 7, name: 'Testing thing' }, id: 5, name: 'a' },
      { type: { id: 1, name: 'Whatever' }, id: 101, name: 'Home' },
      { type: { id: 2, name: 'Agent' }, id: 77, name: 'Osaka, JP - KDDI' },
    ];
    const data = answer(['Response (ms)'], [{ values: [5], dims }]);
    assert.equal(rawToRuns(data).runs.length, 0);
    const read = rawToRuns(data, { dimensionTypeIds: { test: new Set([1]), node: new Set([2]) } });
    assert.deepEqual([read.runs[0]?.testId, read.runs[0]?.nodeId], [101, 77]);
  });

  it('reads dateTime as UTC in whole seconds, with or without a zone', () => {
    const at = Date.UTC(2026, 10, 20, 1, 4, 12) / 1000;
    assert.equal(utcSeconds('2026-11-20T01:04:12'), at);
    assert.equal(utcSeconds('2026-11-20T01:04:12.999'), at);
    assert.equal(utcSeconds('2026-11-20T01:04:12Z'), at);
    assert.equal(utcSeconds('2026-11-20T02:04:12+01:00'), at);
    assert.equal(utcSeconds('20261120010412'), undefined);
    assert.equal(utcSeconds(null), undefined);
  });

  it('takes any answer without crashing', () => {
    for (const data of [
      null,
      1,
      'x',
      [],
      {},
      { responseItems: null },
      { responseItems: [null, { items: [1, null] }] },
    ]) {
      assert.equal(rawToRuns(data).runs.length, 0);
    }
  });
});
