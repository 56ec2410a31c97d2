import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CredentialsError,
  credentialsFromEnv,
  parseCredentials,
} from '../../lambda/catchpoint-api/api-credentials.js';

const SOURCE = 'the SSM parameter /catchpoint/api';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof CredentialsError, String(error));
    return error.message;
  }
  assert.fail('expected a CredentialsError');
}

describe('parseCredentials', () => {
  it('reads a v2 API key', () => {
    assert.deepEqual(parseCredentials('{"apiKey":" k-123 "}', SOURCE), { version: 'v2', apiKey: 'k-123' });
  });

  it('reads v1 client credentials', () => {
    assert.deepEqual(parseCredentials('{"clientId":"id","clientSecret":"s3cret"}', SOURCE), {
      version: 'v1',
      clientId: 'id',
      clientSecret: 's3cret',
    });
  });

  it('names what is wrong without ever quoting a value', () => {
    const cases: [string, RegExp][] = [
      ['{"apiKey":"hunter2-secret"', /is not JSON/],
      ['"hunter2-secret"', /must be a JSON object/],
      ['{"clientId":"id-hunter2-secret"}', /lacks "clientSecret"/],
      ['{"clientSecret":"hunter2-secret"}', /lacks "clientId"/],
      ['{"apiKey":"hunter2-secret","clientId":"a","clientSecret":"b"}', /both "apiKey" and/],
      ['{"apiKey":42}', /"apiKey" must be a string/],
      ['{"apiKey":"  "}', /has no Catchpoint credentials/],
      ['{}', /has no Catchpoint credentials/],
    ];
    for (const [json, expected] of cases) {
      const message = refusal(() => parseCredentials(json, SOURCE));
      assert.match(message, expected, json);
      assert.ok(message.startsWith(SOURCE), message);
      assert.ok(!message.includes('hunter2'), message);
    }
  });
});

describe('credentialsFromEnv', () => {
  it('is undefined when no credential variable is set', () => {
    assert.equal(credentialsFromEnv({}), undefined);
    assert.equal(credentialsFromEnv({ CATCHPOINT_API_KEY: ' ' }), undefined);
  });

  it('reads CATCHPOINT_API_KEY, or CATCHPOINT_CLIENT_ID and CATCHPOINT_CLIENT_SECRET', () => {
    assert.deepEqual(credentialsFromEnv({ CATCHPOINT_API_KEY: 'k' }), { version: 'v2', apiKey: 'k' });
    assert.deepEqual(credentialsFromEnv({ CATCHPOINT_CLIENT_ID: 'i', CATCHPOINT_CLIENT_SECRET: 's' }), {
      version: 'v1',
      clientId: 'i',
      clientSecret: 's',
    });
  });

  it('names the missing variable', () => {
    assert.match(
      refusal(() => credentialsFromEnv({ CATCHPOINT_CLIENT_ID: 'i' })),
      /lacks CATCHPOINT_CLIENT_SECRET: API v1 needs both/,
    );
  });
});
