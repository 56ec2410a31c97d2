import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Item, V2EnterpriseNode, V2Node } from '../../lambda/catchpoint-api/node-api-types.js';
import type { NodeRecord } from '../../lambda/nodes/node-record.js';
import {
  canonicalContinent,
  normaliseNodeList,
  normaliseV1Item,
  normaliseV2Node,
  recordStamp,
} from '../../lambda/nodes/normalise-node.js';
import { MAX_ASN, parseAsn } from '../../lambda/shared/asn.js';
import { fixtureNodes } from '../support/catchpoint-stand-in.js';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const stamp = recordStamp(NOW, 7);
const STAMPS = { updatedAt: '2026-11-25T12:00:00.000Z', expiresAt: NOW / 1000 + 7 * 86_400 };

describe('recordStamp', () => {
  it('stamps the refresh time and an expiry ttlDays ahead, in epoch seconds', () => {
    assert.deepEqual(stamp, STAMPS);
    assert.equal(recordStamp(NOW + 999, 1).expiresAt, NOW / 1000 + 86_400);
  });
});

describe('normaliseNodeList, API v1', () => {
  it('turns the documented items into records, the ASN "AS2516" into 2516', () => {
    const { records, skipped } = normaliseNodeList({ version: 'v1', items: fixtureNodes().v1Items }, stamp);
    assert.equal(skipped, 0);
    assert.deepEqual(records, [
      {
        nodeId: 77,
        name: 'Osaka, JP - KDDI',
        asn: 2516,
        city: 'Osaka',
        region: 'Osaka',
        country: 'Japan',
        countryCode: 'JP',
        continent: 'Asia',
        isp: 'KDDI',
        networkType: 'Backbone',
        ...STAMPS,
      },
      {
        nodeId: 79,
        name: 'São Paulo, BR - Claro',
        asn: 28573,
        city: 'São Paulo',
        region: 'São Paulo',
        country: 'Brazil',
        countryCode: 'BR',
        continent: 'South America',
        // The API's ISP wins over the one in the name.
        isp: 'Claro S.A.',
        networkType: 'LastMile',
        ...STAMPS,
      },
      {
        nodeId: 81,
        name: 'Frankfurt, DE - AWS',
        asn: 16509,
        city: 'Frankfurt',
        region: 'Hesse',
        country: 'Germany',
        countryCode: 'DE',
        continent: 'Europe',
        isp: 'Amazon.com, Inc.',
        networkType: 'PublicCloud',
        ...STAMPS,
      },
    ]);
  });

  it('fills what an item lacks from its name and its country', () => {
    const item: V1Item = {
      id: 5,
      name: 'Washington, D.C., US - AT&T',
      asn: { value: 'AS7018' },
      continent: null,
    };
    assert.deepEqual(normaliseV1Item(item, stamp), {
      nodeId: 5,
      name: 'Washington, D.C., US - AT&T',
      asn: 7018,
      city: 'Washington, D.C.',
      country: 'United States',
      countryCode: 'US',
      continent: 'North America',
      isp: 'AT&T',
      ...STAMPS,
    });
  });

  it('leaves out what neither the item nor its name tells (no empty or guessed values)', () => {
    const record = normaliseV1Item(
      { id: 6, name: 'Mobile probe 6', city: { id: 1, name: '  ' }, asn: null },
      stamp,
    );
    assert.deepEqual(record, { nodeId: 6, name: 'Mobile probe 6', ...STAMPS });
    assert.deepEqual(Object.keys(record ?? {}), ['nodeId', 'name', 'updatedAt', 'expiresAt']);
  });

  it('skips items without a usable id or name, and repeated ids', () => {
    const items = [
      { id: 1, name: 'Tokyo, JP - IIJ' },
      { id: 1, name: 'Tokyo, JP - IIJ (again)' },
      { name: 'no id' },
      { id: 0, name: 'zero id' },
      { id: 2.5, name: 'fractional id' },
      { id: 3, name: '' },
      { id: '4', name: 'Lyon, FR - Orange' },
    ] as V1Item[];
    const { records, skipped } = normaliseNodeList({ version: 'v1', items }, stamp);
    assert.deepEqual(
      records.map((r) => [r.nodeId, r.name]),
      [
        [1, 'Tokyo, JP - IIJ'],
        [4, 'Lyon, FR - Orange'],
      ],
    );
    assert.equal(skipped, 5);
  });
});

describe('normaliseNodeList, API v2', () => {
  const { v2Nodes, enterprise } = fixtureNodes();

  it('takes a public node’s ISP from its name and its continent from its country', () => {
    const { records, skipped } = normaliseNodeList({ version: 'v2', nodes: v2Nodes, enterprise }, stamp);
    assert.equal(skipped, 0);
    assert.deepEqual(
      records.find((r) => r.nodeId === 80),
      {
        nodeId: 80,
        name: 'Sydney, AU - Telstra',
        asn: 1221,
        city: 'Sydney',
        country: 'Australia',
        countryCode: 'AU',
        continent: 'Oceania',
        isp: 'Telstra',
        networkType: 'LastMile',
        ...STAMPS,
      },
    );
    assert.deepEqual(
      records.map((r) => r.nodeId),
      [77, 80, 81, 9001],
    );
  });

  it('keeps Enterprise nodes, with ISP, state and continent from the Enterprise list', () => {
    const { records } = normaliseNodeList({ version: 'v2', nodes: v2Nodes, enterprise }, stamp);
    assert.deepEqual(
      records.find((r) => r.nodeId === 9001),
      {
        nodeId: 9001,
        name: 'Ashburn, US - Acme Office',
        city: 'Ashburn',
        region: 'Virginia',
        country: 'United States',
        countryCode: 'US',
        continent: 'North America',
        isp: 'Verizon Business',
        networkType: 'Enterprise',
        ...STAMPS,
      },
    );
  });

  it('merges a node of /nodes/all with its Enterprise entry: ASN from one, ISP and state from the other', () => {
    const node: V2Node = {
      id: 42,
      name: 'Paris, FR - Office',
      asn: { id: 3215, name: 'Orange' },
      city: { id: 1, name: 'Paris' },
      country: { id: 2, name: 'France' },
      networkType: { id: 4, name: 'Enterprise' },
    };
    const extra: V2EnterpriseNode = {
      id: 42,
      name: 'Paris, FR - Office',
      state: { id: 3, name: 'Île-de-France' },
      continent: { id: 2, name: 'Europe' },
      internetServiceProvider: { id: 4, name: 'Orange Business' },
      latitude: '48.85',
      longitude: '2.35',
    };
    const { records } = normaliseNodeList({ version: 'v2', nodes: [node], enterprise: [extra] }, stamp);
    assert.deepEqual(records, [
      {
        nodeId: 42,
        name: 'Paris, FR - Office',
        asn: 3215,
        city: 'Paris',
        region: 'Île-de-France',
        country: 'France',
        countryCode: 'FR',
        continent: 'Europe',
        isp: 'Orange Business',
        networkType: 'Enterprise',
        ...STAMPS,
      },
    ]);
  });

  it('uses the country code of the name when the country is missing or unknown', () => {
    const record = normaliseV2Node({ id: 7, name: 'Nairobi, KE - Safaricom' }, undefined, stamp);
    assert.equal(record?.country, 'Kenya');
    assert.equal(record?.countryCode, 'KE');
    assert.equal(record?.continent, 'Africa');
    const odd = normaliseV2Node(
      { id: 8, name: 'Seoul, KR - KT', country: { name: 'Atlantis' } },
      undefined,
      stamp,
    );
    assert.equal(odd?.country, 'Atlantis');
    assert.equal(odd?.countryCode, 'KR');
    assert.equal(odd?.continent, 'Asia');
  });
});

describe('country names', () => {
  it('names the country as the metrics do, whatever the API’s spelling (v1 and v2)', () => {
    const v1 = normaliseV1Item(
      { id: 1, name: 'Seoul, KR - KT', country: { id: 1, name: 'Korea, Republic of' } },
      stamp,
    );
    const v2 = normaliseV2Node(
      { id: 2, name: 'Seoul, KR - KT', country: { id: 1, name: 'Korea, Republic of' } },
      undefined,
      stamp,
    );
    const fromCode = normaliseV2Node({ id: 3, name: 'Seoul, KR - KT' }, undefined, stamp);
    for (const record of [v1, v2, fromCode]) {
      assert.equal(record?.country, 'South Korea');
      assert.equal(record?.countryCode, 'KR');
    }
    const usa = normaliseV1Item(
      { id: 4, name: 'Probe', country: { name: 'United States of America' } },
      stamp,
    );
    assert.equal(usa?.country, 'United States');
  });
});

describe('normaliseNodeList with the known records of the table', () => {
  const earlier = recordStamp(NOW - 86_400_000, 7);
  const knownOf = (record: NodeRecord | undefined) => new Map(record ? [[record.nodeId, record]] : []);

  it('keeps what only the API told and the new answer does not', () => {
    const [known] = normaliseNodeList(
      { version: 'v1', items: fixtureNodes().v1Items.slice(2) },
      earlier,
    ).records;
    const v2 = { id: 81, name: 'Frankfurt, DE - AWS', country: { id: 80, name: 'Germany' } };
    const { records } = normaliseNodeList(
      { version: 'v2', nodes: [v2], enterprise: [] },
      stamp,
      knownOf(known),
    );
    assert.deepEqual(records, [{ ...known, ...STAMPS }]);
  });

  it('lets a renamed node take its new name’s ISP and city when the old ones came from the old name', () => {
    const [known] = normaliseNodeList(
      { version: 'v2', nodes: [{ id: 5, name: 'Lyon, FR - SFR' }], enterprise: [] },
      earlier,
    ).records;
    assert.equal(known?.isp, 'SFR');
    const renamed = { id: 5, name: 'Lille, FR - Bouygues' };
    const { records } = normaliseNodeList(
      { version: 'v2', nodes: [renamed], enterprise: [] },
      stamp,
      knownOf(known),
    );
    assert.equal(records[0]?.isp, 'Bouygues');
    assert.equal(records[0]?.city, 'Lille');
  });

  it('keeps nothing of the location once the node is in another country', () => {
    const [known] = normaliseNodeList(
      { version: 'v1', items: fixtureNodes().v1Items.slice(2) },
      earlier,
    ).records;
    const moved = { id: 81, name: 'Paris, FR - AWS', country: { id: 70, name: 'France' } };
    const { records } = normaliseNodeList(
      { version: 'v2', nodes: [moved], enterprise: [] },
      stamp,
      knownOf(known),
    );
    assert.deepEqual(records, [
      {
        nodeId: 81,
        name: 'Paris, FR - AWS',
        asn: 16509,
        city: 'Paris',
        country: 'France',
        countryCode: 'FR',
        continent: 'Europe',
        isp: 'Amazon.com, Inc.',
        networkType: 'PublicCloud',
        ...STAMPS,
      },
    ]);
  });

  it('takes a known record of the old spelling to the metrics’ country name', () => {
    const known: NodeRecord = {
      nodeId: 9,
      name: 'Probe 9',
      country: 'Korea, Republic of',
      countryCode: 'KR',
      region: 'Seoul',
      ...earlier,
    };
    const { records } = normaliseNodeList(
      { version: 'v2', nodes: [{ id: 9, name: 'Probe 9' }], enterprise: [] },
      stamp,
      knownOf(known),
    );
    assert.deepEqual(records, [
      {
        nodeId: 9,
        name: 'Probe 9',
        region: 'Seoul',
        country: 'South Korea',
        countryCode: 'KR',
        continent: 'Asia',
        ...STAMPS,
      },
    ]);
  });
});

describe('parseAsn', () => {
  it('reads the AS number with or without its prefix', () => {
    assert.equal(parseAsn('AS4837'), 4837);
    assert.equal(parseAsn('as4837'), 4837);
    assert.equal(parseAsn(' AS4837 '), 4837);
    assert.equal(parseAsn(' 4837 '), 4837);
    assert.equal(parseAsn('0004837'), 4837);
    assert.equal(parseAsn(4837), 4837);
    assert.equal(parseAsn('AS4294967295'), MAX_ASN);
    assert.equal(parseAsn(MAX_ASN), MAX_ASN);
    assert.equal(parseAsn(1), 1);
  });
  it('gives undefined for anything that is not an AS number', () => {
    for (const value of [
      'AS 4837',
      'as\t4837',
      'AS',
      '',
      ' ',
      'ASX1',
      'AS-1',
      '-1',
      '+4837',
      '4837.0',
      '4 837',
      'AS4294967296',
      '12345678901',
      'AS0',
      0,
      -1,
      1.5,
      MAX_ASN + 1,
      2 ** 64,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      null,
      undefined,
      true,
      {},
      [4837],
    ]) {
      assert.equal(parseAsn(value), undefined, String(value));
    }
  });
});

describe('canonicalContinent', () => {
  it('names continents the way the metrics do, whatever the spelling', () => {
    assert.equal(canonicalContinent('NorthAmerica'), 'North America');
    assert.equal(canonicalContinent('north_america'), 'North America');
    assert.equal(canonicalContinent('Australia/Oceania'), 'Oceania');
    assert.equal(canonicalContinent('EUROPE'), 'Europe');
    assert.equal(canonicalContinent('Atlantis'), undefined);
    assert.equal(canonicalContinent(undefined), undefined);
  });
  it('falls back to the country’s continent when the API’s is not a continent', () => {
    const record = normaliseV1Item(
      { id: 1, name: 'Lima, PE - Claro', country: { name: 'Peru' }, continent: { name: 'LATAM' } },
      stamp,
    );
    assert.equal(record?.continent, 'South America');
  });
});
