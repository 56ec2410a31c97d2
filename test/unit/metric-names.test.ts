import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FIXTURE_RECEIVED_AT_MS, pushFixture, pushFixtureNames } from '../../dev/fixtures.js';
import { METRIC_SET_NAMES, type MetricNaming } from '../../lambda/config.js';
import { toDatapoints } from '../../lambda/metrics/datapoints.js';
import { bridgeMetricNames, isBridgeMetricName } from '../../lambda/metrics/metric-names.js';
import { nodeDimensions } from '../../lambda/metrics/node-dimensions.js';
import { parsePush } from '../../lambda/webhook/parse-push.js';

describe('the metric names the bridge defines', () => {
  it('include every name the metrics code writes, in both namings, for every fixture and set', () => {
    const sets = new Set(METRIC_SET_NAMES);
    const written = new Set<string>();
    for (const naming of ['default', 'per-test'] as MetricNaming[]) {
      for (const name of pushFixtureNames()) {
        const result = parsePush(pushFixture(name), FIXTURE_RECEIVED_AT_MS);
        for (const point of toDatapoints(result, nodeDimensions(result, undefined), { sets, naming }, 0))
          written.add(point.metric);
      }
    }
    assert.ok(written.size > 40, `the fixtures write many names (${written.size})`);
    for (const metric of written) assert.equal(isBridgeMetricName(metric), true, metric);
  });

  it('include the content-type names of a nested ContentType object', () => {
    const run = {
      TestId: 5,
      NodeId: 7,
      Summary: {
        Timing: { Total: 9, ContentType: { Image: 3, Script: 4 } },
        Counter: { ContentType: { Css: 2 } },
      },
    };
    const result = parsePush(JSON.stringify(run), FIXTURE_RECEIVED_AT_MS);
    const sets = new Set(METRIC_SET_NAMES);
    const points = toDatapoints(result, nodeDimensions(result, undefined), { sets, naming: 'default' }, 0);
    const names = points.map((p) => p.metric).filter((m) => m.includes('content_type'));
    assert.deepEqual(names.sort(), [
      'catchpoint.counter.content_type.css',
      'catchpoint.timing.content_type.image',
      'catchpoint.timing.content_type.script',
    ]);
    for (const name of names) assert.equal(isBridgeMetricName(name), true, name);
  });

  it('are a small, fixed set: nothing a payload says adds to it', () => {
    const names = bridgeMetricNames();
    assert.ok(names.size < 200, `${names.size} names`);
    for (const name of names) assert.match(name, /^catchpoint\.[a-z0-9_.]+$/);
    for (const name of [
      'catchpoint.timing.jitterish',
      'catchpoint.rtt.by_planet',
      'catchpoint.rtt.by_node.0',
      'catchpoint.rtt.by_node.090001',
      'catchpoint.rtt.by_node.90001.5',
      'catchpoint.rtt.by_node.99999999999999999',
      'catchpoint.rtt.by_node.',
      'catchpoint.rtt',
      'sys.cpu.user',
      '',
    ]) {
      assert.equal(isBridgeMetricName(name), false, name);
    }
    assert.equal(isBridgeMetricName('catchpoint.rtt.by_node.90001'), true);
    assert.equal(isBridgeMetricName('catchpoint.ping.packet_loss_pct.1'), true);
  });
});
