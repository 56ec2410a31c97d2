import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSpoolTable, type EmbeddedDynamo, startEmbeddedDynamo } from '../../dev/embedded-dynamo.js';
import type { Datapoint } from '../../lambda/opentsdb/datapoint.js';
import { DynamoSpool } from '../../lambda/spool/dynamo-spool.js';

const point = (i: number): Datapoint => ({
  metric: 'catchpoint.rtt.by_node',
  timestamp: 1795521852 + i,
  value: i + 0.5,
  tags: { testid: '1', nodeid: String(i) },
});

describe('DynamoSpool on dynalite', () => {
  let dynamo: EmbeddedDynamo;
  let spool: DynamoSpool;
  before(async () => {
    dynamo = await startEmbeddedDynamo();
    await createSpoolTable(dynamo.client, 'spool');
    spool = new DynamoSpool(dynamo.client, 'spool');
  });
  after(() => dynamo.close());

  it('keeps points byte for byte, one entry per run, oldest first', async () => {
    const t0 = Date.UTC(2026, 10, 25);
    await spool.save('1:2:300', [point(3)], t0 + 3000, Date.now() + 5000);
    await spool.save('1:2:100', [point(1), point(2)], t0 + 1000, Date.now() + 5000);
    // A Catchpoint retry of a spooled run changes nothing.
    await spool.save('1:2:100', [point(9)], t0 + 9000, Date.now() + 5000);
    const heads = await spool.heads();
    assert.deepEqual(
      heads.map((h) => [h.runKey, h.spooledAtMs]),
      [
        ['1:2:100', t0 + 1000],
        ['1:2:300', t0 + 3000],
      ],
    );
    assert.deepEqual(await spool.points('1:2:100'), [point(1), point(2)]);
    await spool.remove('1:2:100');
    assert.equal(await spool.points('1:2:100'), undefined);
    await spool.remove('1:2:300');
  });

  it('looks at no more entries than its limit in one scan', async () => {
    for (let i = 0; i < 30; i++) await spool.save(`9:${i}:1`, [point(i)], Date.now(), Date.now() + 5000);
    assert.equal((await spool.heads(10)).length, 10);
    assert.equal((await spool.heads()).length, 30);
  });
});
