import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConfigError,
  DEFAULT_CATCHPOINT_API_URL,
  DEFAULT_NODE_TTL_DAYS,
  parseMetricNaming,
  parseMetricSets,
  parseTokenHashes,
  readCatchpointApiSettings,
  readPushConfig,
  readRefreshConfig,
  readReplayConfig,
} from '../../lambda/config.js';
import { cleanTagValue } from '../../lambda/metrics/tag-value.js';
import { PushTokens, sha256Hex } from '../../lambda/push/push-token.js';

describe('push token', () => {
  const tokens = new PushTokens([sha256Hex('old-token'), sha256Hex('new-token')]);
  it('accepts any of several tokens (rotation) and refuses others', () => {
    assert.equal(tokens.open, false);
    assert.equal(tokens.accepts('old-token'), true);
    assert.equal(tokens.accepts('new-token'), true);
    assert.equal(tokens.accepts('new-token '), false);
    assert.equal(tokens.accepts(''), false);
    assert.equal(tokens.accepts(undefined), false);
    assert.equal(tokens.accepts('x'.repeat(5000)), false);
  });
  it('answers the same for a token seen before, and tells apart tokens that differ by one unit or length', () => {
    const fresh = new PushTokens([sha256Hex('secret-token')]);
    for (let round = 0; round < 3; round++) {
      assert.equal(fresh.accepts('secret-token'), true);
      for (const wrong of [
        'secret-tokeN',
        'secret-toke',
        'secret-token\0',
        'secret-tokens',
        's',
        '\0'.repeat(12),
      ])
        assert.equal(fresh.accepts(wrong), false, JSON.stringify(wrong));
    }
    // A token may be a prefix of another's: neither stands in for the other once both were seen.
    const both = new PushTokens([sha256Hex('abc'), sha256Hex('abcd')]);
    for (let round = 0; round < 2; round++) {
      assert.equal(both.accepts('abc'), true);
      assert.equal(both.accepts('abcd'), true);
      assert.equal(both.accepts('ab'), false);
      assert.equal(both.accepts('abcde'), false);
    }
  });
  it('is open, accepting every push, only without a digest', () => {
    assert.equal(new PushTokens([]).open, true);
  });
  it('knows SHA-256', () => {
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('configuration', () => {
  const base = {
    NODES_TABLE: 'nodes',
    OPENTSDB_URL: 'http://tsdb.internal:4242/',
    PUSH_TOKEN_HASHES: sha256Hex('t'),
  };
  it('reads the push configuration with defaults', () => {
    const config = readPushConfig(base);
    assert.equal(config.openTsdbUrl, 'http://tsdb.internal:4242');
    assert.deepEqual([...config.metrics.sets], ['core', 'timing', 'ping', 'traceroute']);
    assert.equal(config.metrics.naming, 'default');
    assert.equal(config.spoolTable, undefined);
  });
  it('names the variable that is missing or wrong', () => {
    assert.throws(() => readPushConfig({ ...base, NODES_TABLE: '' }), /NODES_TABLE is not set/);
    assert.throws(() => readPushConfig({ ...base, OPENTSDB_URL: undefined }), /OPENTSDB_URL is not set/);
    assert.throws(() => readPushConfig({ ...base, OPENTSDB_URL: 'ftp://x' }), /http or https/);
    assert.throws(() => readPushConfig({ ...base, PUSH_TOKEN_HASHES: '' }), /PUSH_TOKEN_HASHES/);
    assert.throws(
      () => readPushConfig({ ...base, WRITE_BUDGET_MS: '-1' }),
      /WRITE_BUDGET_MS must be a positive integer/,
    );
    assert.throws(() => readReplayConfig({}), ConfigError);
  });
  it('reads OPENTSDB_SYNC for push and replay: true unless "false"', () => {
    assert.equal(readPushConfig(base).openTsdbSync, true);
    assert.equal(readPushConfig({ ...base, OPENTSDB_SYNC: 'false' }).openTsdbSync, false);
    assert.equal(readPushConfig({ ...base, OPENTSDB_SYNC: ' TRUE ' }).openTsdbSync, true);
    const replay = { SPOOL_TABLE: 'spool', OPENTSDB_URL: 'http://tsdb.internal:4242' };
    assert.equal(readReplayConfig(replay).openTsdbSync, true);
    assert.equal(readReplayConfig({ ...replay, OPENTSDB_SYNC: 'False' }).openTsdbSync, false);
    assert.throws(
      () => readPushConfig({ ...base, OPENTSDB_SYNC: 'no' }),
      /OPENTSDB_SYNC must be true or false/,
    );
  });
  it('keeps WRITE_BUDGET_MS within the push function limit', () => {
    assert.equal(readPushConfig({ ...base, WRITE_BUDGET_MS: '14000' }).writeBudgetMs, 14_000);
    assert.throws(
      () => readPushConfig({ ...base, WRITE_BUDGET_MS: '14001' }),
      /WRITE_BUDGET_MS must be at most 14000/,
    );
  });
  it('never echoes a token pasted where a hash belongs', () => {
    assert.throws(
      () => parseTokenHashes('my-plain-secret-token'),
      (e: Error) => e instanceof ConfigError && !e.message.includes('my-plain-secret-token'),
    );
    assert.deepEqual(parseTokenHashes(` ${'A'.repeat(64)} ,, ${'b'.repeat(64)}`), [
      'a'.repeat(64),
      'b'.repeat(64),
    ]);
  });
  it('METRIC_SETS always keeps core and refuses unknown sets', () => {
    assert.deepEqual([...parseMetricSets('timing, bytes')], ['core', 'timing', 'bytes']);
    assert.deepEqual([...parseMetricSets('core')], ['core']);
    assert.throws(() => parseMetricSets('core,latency'), /unknown set "latency"/);
  });
  it('METRIC_NAMING', () => {
    assert.equal(parseMetricNaming('per-test'), 'per-test');
    assert.equal(parseMetricNaming(undefined), 'default');
    assert.throws(() => parseMetricNaming('per-node'), ConfigError);
  });
  it('reads the Catchpoint API URL and the node TTL the same way for every refresh', () => {
    assert.deepEqual(readCatchpointApiSettings({}), {
      catchpointApiUrl: DEFAULT_CATCHPOINT_API_URL,
      nodeTtlDays: DEFAULT_NODE_TTL_DAYS,
    });
    assert.deepEqual(
      readCatchpointApiSettings({ CATCHPOINT_API_URL: ' https://cp.example/ ', NODE_TTL_DAYS: '14' }),
      { catchpointApiUrl: 'https://cp.example', nodeTtlDays: 14 },
    );
    assert.deepEqual(
      readCatchpointApiSettings({ CATCHPOINT_API_URL: ' ' }).catchpointApiUrl,
      DEFAULT_CATCHPOINT_API_URL,
    );
    assert.throws(
      () => readCatchpointApiSettings({ CATCHPOINT_API_URL: 'io.catchpoint.com' }),
      /CATCHPOINT_API_URL is not a URL/,
    );
    assert.throws(
      () => readPushConfig({ ...base, OPENTSDB_URL: 'http://admin:s3cret@tsdb:4242' }),
      (error: Error) =>
        /OPENTSDB_URL must not carry credentials/.test(error.message) && !error.message.includes('s3cret'),
    );
    assert.throws(
      () => readCatchpointApiSettings({ NODE_TTL_DAYS: '0' }),
      /NODE_TTL_DAYS must be a positive integer/,
    );
    const refresh = readRefreshConfig({
      NODES_TABLE: 'nodes',
      CATCHPOINT_CREDENTIALS_PARAMETER: '/p',
      CATCHPOINT_API_URL: 'http://localhost:1/',
      NODE_TTL_DAYS: '3',
    });
    assert.deepEqual(refresh, {
      nodesTable: 'nodes',
      credentialsParameter: '/p',
      catchpointApiUrl: 'http://localhost:1',
      nodeTtlDays: 3,
    });
  });
  it('the local server may run without OpenTSDB and without tokens', () => {
    const config = readPushConfig({ NODES_TABLE: 'nodes' }, true);
    assert.equal(config.openTsdbUrl, undefined);
    assert.deepEqual(config.pushTokenHashes, []);
  });
});

describe('tag values', () => {
  const cases: [string | number | undefined, string][] = [
    ['North America', 'North_America'],
    ['AT&T', 'AT_T'],
    ['Washington, D.C.', 'Washington_D.C.'],
    ['São Paulo', 'São_Paulo'],
    ['Sa\u0303o Paulo', 'São_Paulo'],
    ['𝐀lpha', 'lpha'],
    ['x𝐀y', 'x_y'],
    ['q\u0307', 'q'],
    ['Amazon.com, Inc.', 'Amazon.com_Inc.'],
    ['(Level 3)', 'Level_3'],
    ["O'Brien = 1: @home", 'O_Brien_1_home'],
    ['東京', '東京'],
    ['a/b-c_d.e', 'a/b-c_d.e'],
    ['___', 'unknown'],
    ['', 'unknown'],
    [undefined, 'unknown'],
    [2516, '2516'],
    ['tab\there\nnewline', 'tab_here_newline'],
  ];
  for (const [raw, want] of cases) {
    it(`${JSON.stringify(raw)} → ${want}`, () => assert.equal(cleanTagValue(raw), want));
  }
  it('caps very long values', () => assert.equal(cleanTagValue('x'.repeat(10_000)).length, 200));
});
