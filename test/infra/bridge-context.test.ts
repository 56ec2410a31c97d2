import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  BridgeContextError,
  CONTEXT_DEFAULTS,
  EXAMPLE_PUSH_TOKEN_HASH,
  parseBridgeContext,
} from '../../infra/bridge-context.js';
import { cdkJsonContext, EXAMPLE_SYNTH_COMMAND, exampleContext, PROJECT_ROOT } from './synth-bridge.js';

const HASH = 'a'.repeat(64);
const REQUIRED = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: 'subnet-0123456789abcdef0,subnet-0fedcba9876543210',
  routeTableIds: 'rtb-0123456789abcdef0',
  openTsdbUrl: 'http://10.0.12.34:4242',
  pushTokenHashes: HASH,
  catchpointCredentialsParameter: '/catchpoint-bridge/credentials',
};

function parse(values: Record<string, unknown>) {
  return parseBridgeContext((key) => values[key]);
}

function problemsOf(values: Record<string, unknown>): string[] {
  try {
    parse(values);
  } catch (error) {
    assert.ok(error instanceof BridgeContextError);
    return [...error.problems];
  }
  assert.fail('expected a BridgeContextError');
}

describe('parseBridgeContext', () => {
  it('reads the required values and applies the defaults', () => {
    const ctx = parse(REQUIRED);
    assert.deepEqual(ctx.subnetIds, ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210']);
    assert.equal(ctx.openTsdbPort, 4242);
    assert.deepEqual(ctx.pushTokenHashes, [HASH]);
    assert.equal(ctx.refreshSchedule, CONTEXT_DEFAULTS.refreshSchedule);
    assert.equal(ctx.createDynamoDbEndpoint, true);
    assert.equal(ctx.logRetentionDays, 30);
    assert.equal(ctx.metricSets, undefined);
    assert.equal(ctx.metricNaming, undefined);
    assert.equal(ctx.openTsdbSecurityGroupId, undefined);
    assert.equal(ctx.dynamoDbPrefixListId, undefined);
    assert.equal(ctx.nodeTtlDays, undefined);
    assert.equal(ctx.pushRateLimit, 500);
    assert.equal(ctx.pushBurstLimit, 2000);
    // No reservation unless asked for: a new account (a quota of 10) could not deploy one.
    assert.equal(ctx.pushReservedConcurrency, undefined);
    assert.equal(ctx.openTsdbSync, true);
  });

  it('reads the push capacity and openTsdbSync, from cdk.json (JSON values) and from -c (strings)', () => {
    const fromJson = parse({
      ...REQUIRED,
      pushRateLimit: 1500,
      pushBurstLimit: 5000,
      pushReservedConcurrency: 1500,
      openTsdbSync: false,
    });
    assert.deepEqual(
      [
        fromJson.pushRateLimit,
        fromJson.pushBurstLimit,
        fromJson.pushReservedConcurrency,
        fromJson.openTsdbSync,
      ],
      [1500, 5000, 1500, false],
    );
    const fromCli = parse({
      ...REQUIRED,
      pushRateLimit: '50',
      pushBurstLimit: '50',
      pushReservedConcurrency: '60',
      openTsdbSync: 'true',
    });
    assert.deepEqual(
      [fromCli.pushRateLimit, fromCli.pushBurstLimit, fromCli.pushReservedConcurrency, fromCli.openTsdbSync],
      [50, 50, 60, true],
    );
  });

  it('refuses an OpenTSDB URL with credentials, without repeating them', () => {
    const problems = problemsOf({ ...REQUIRED, openTsdbUrl: 'http://admin:s3cret@10.0.0.1:4242' });
    assert.ok(
      problems.includes('openTsdbUrl must not carry credentials (user:password@host)'),
      String(problems),
    );
    assert.ok(!problems.join('\n').includes('s3cret'));
  });

  it('rejects push capacity values that are not positive integers, a burst below the rate, a non-boolean sync', () => {
    const problems = problemsOf({
      ...REQUIRED,
      pushRateLimit: '0',
      pushBurstLimit: 'lots',
      pushReservedConcurrency: '12.5',
      openTsdbSync: 'no',
      pushSystemLogLevel: 'quiet',
      pushMemorySize: '64',
    });
    for (const needle of [
      /^pushRateLimit must be a positive integer, got "0"/,
      /^pushBurstLimit must be a positive integer, got "lots"/,
      /^pushReservedConcurrency must be a positive integer, got "12.5"/,
      /^openTsdbSync must be true or false, got "no"/,
      /^pushSystemLogLevel must be one of DEBUG, INFO, WARN, got "QUIET"/,
      /^pushMemorySize must be 128–10240 \(MB, Lambda's range\), got 64/,
    ]) {
      assert.ok(
        problems.some((p) => needle.test(p)),
        `${needle} not in ${JSON.stringify(problems)}`,
      );
    }
    assert.ok(
      problemsOf({ ...REQUIRED, pushReservedConcurrency: -5 }).some((p) =>
        /^pushReservedConcurrency must/.test(p),
      ),
    );
    const burst = problemsOf({ ...REQUIRED, pushRateLimit: '800', pushBurstLimit: '700' });
    assert.deepEqual(burst, [
      'pushBurstLimit (700) must be at least pushRateLimit (800): the burst is what carries the pushes ' +
        'arriving together at the minute boundaries',
    ]);
    // The default burst is checked against a raised rate too.
    assert.ok(
      problemsOf({ ...REQUIRED, pushRateLimit: 3000 }).some((p) => p.startsWith('pushBurstLimit (2000)')),
    );
  });

  it('names every missing key and how to set it, in one error', () => {
    const problems = problemsOf({});
    for (const key of [
      'vpcId',
      'subnetIds',
      'openTsdbUrl',
      'pushTokenHashes',
      'catchpointCredentialsParameter',
      'routeTableIds',
    ]) {
      const problem = problems.find((p) => p.startsWith(`${key} is not set`));
      assert.ok(problem, `${key} missing from ${JSON.stringify(problems)}`);
      assert.match(problem, new RegExp(`-c ${key}=`));
    }
    assert.match(new BridgeContextError(problems).message, /cdk\.json.*-c key=value/);
  });

  it('accepts JSON arrays from cdk.json and strings from -c, and "false" from -c', () => {
    const ctx = parse({
      ...REQUIRED,
      subnetIds: ['subnet-0123456789abcdef0'],
      pushTokenHashes: [HASH, 'B'.repeat(64), HASH],
      createDynamoDbEndpoint: 'false',
      routeTableIds: undefined,
      logRetentionDays: '90',
    });
    assert.deepEqual(ctx.subnetIds, ['subnet-0123456789abcdef0']);
    assert.deepEqual(ctx.pushTokenHashes, [HASH, 'b'.repeat(64)]);
    assert.equal(ctx.createDynamoDbEndpoint, false);
    assert.equal(ctx.logRetentionDays, 90);
  });

  it('treats an empty -c value as unset', () => {
    const ctx = parse({ ...REQUIRED, openTsdbSecurityGroupId: '', refreshSchedule: ' ' });
    assert.equal(ctx.openTsdbSecurityGroupId, undefined);
    assert.equal(ctx.refreshSchedule, CONTEXT_DEFAULTS.refreshSchedule);
  });

  it('rejects a token given instead of its digest, without echoing it', () => {
    const problems = problemsOf({ ...REQUIRED, pushTokenHashes: 'my-secret-token' });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /SHA-256 hex digests/);
    assert.match(problems[0]!, /sha256sum/);
    assert.doesNotMatch(problems.join(' '), /my-secret-token/);
  });

  it('rejects malformed ids, URLs, schedules and options', () => {
    const problems = problemsOf({
      ...REQUIRED,
      vpcId: 'my-vpc',
      subnetIds: 'subnet-0123456789abcdef0,subnet-x',
      openTsdbUrl: 'tcp://opentsdb:4242',
      openTsdbSecurityGroupId: 'opentsdb',
      refreshSchedule: 'every hour',
      metricSets: 'core,colour',
      metricNaming: 'fancy',
      logRetentionDays: 31,
      createDynamoDbEndpoint: 'yes',
      nodeTtlDays: '0',
      catchpointCredentialsKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:alias/catchpoint',
    });
    for (const needle of [
      /^vpcId is malformed/,
      /^subnetIds has malformed value\(s\): "subnet-x"/,
      /^openTsdbUrl must be an http/,
      /^openTsdbSecurityGroupId is malformed/,
      /^refreshSchedule must be an EventBridge schedule expression/,
      /^metricSets has unknown set\(s\) colour/,
      /^metricNaming must be/,
      /^logRetentionDays must be one of/,
      /^createDynamoDbEndpoint must be true or false/,
      /^nodeTtlDays must be a positive integer, got "0"/,
      /^catchpointCredentialsKmsKeyArn is malformed/,
    ]) {
      assert.ok(
        problems.some((p) => needle.test(p)),
        `${needle} not in ${JSON.stringify(problems)}`,
      );
    }
  });

  it('derives the OpenTSDB port from the scheme when the URL has none, and drops a trailing slash', () => {
    const https = parse({ ...REQUIRED, openTsdbUrl: 'https://tsdb.internal/' });
    assert.equal(https.openTsdbPort, 443);
    assert.equal(https.openTsdbUrl, 'https://tsdb.internal');
    assert.equal(parse({ ...REQUIRED, openTsdbUrl: 'http://tsdb.internal' }).openTsdbPort, 80);
  });

  it('reads nodeTtlDays, for NODE_TTL_DAYS of the refresh', () => {
    assert.equal(parse({ ...REQUIRED, nodeTtlDays: '14' }).nodeTtlDays, 14);
    assert.equal(parse({ ...REQUIRED, nodeTtlDays: 30 }).nodeTtlDays, 30);
    assert.ok(problemsOf({ ...REQUIRED, nodeTtlDays: '1.5' }).some((p) => p.startsWith('nodeTtlDays must')));
  });

  it('accepts the ARNs of single-region and multi-region KMS keys', () => {
    for (const arn of [
      'arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666',
      'arn:aws:kms:eu-west-1:123456789012:key/mrk-0a1b2c3d11112222333344445555aaaa',
      'arn:aws-cn:kms:cn-north-1:123456789012:key/mrk-0a1b2c3d11112222333344445555aaaa',
    ]) {
      assert.equal(
        parse({ ...REQUIRED, catchpointCredentialsKmsKeyArn: arn }).catchpointCredentialsKmsKeyArn,
        arn,
      );
    }
  });

  it('needs no route tables when the VPC already has a DynamoDB endpoint', () => {
    const ctx = parse({ ...REQUIRED, routeTableIds: undefined, createDynamoDbEndpoint: false });
    assert.deepEqual(ctx.routeTableIds, []);
  });

  it("parses the example synth's context: cdk.json's, and the command's -c values", () => {
    const ctx = parse(exampleContext());
    assert.deepEqual(ctx.pushTokenHashes, [EXAMPLE_PUSH_TOKEN_HASH]);
    assert.equal(
      EXAMPLE_PUSH_TOKEN_HASH,
      createHash('sha256').update('example-token').digest('hex'),
      'the example hash is that of "example-token"',
    );
  });

  it('finds every required key missing in cdk.json, which holds no defaults for them', () => {
    const problems = problemsOf(cdkJsonContext());
    assert.deepEqual(
      problems.map((p) => p.slice(0, p.indexOf(' '))),
      [
        'vpcId',
        'subnetIds',
        'openTsdbUrl',
        'pushTokenHashes',
        'catchpointCredentialsParameter',
        'routeTableIds',
      ],
    );
    for (const problem of problems) assert.match(problem, /is not set: .*-c \w+=\S/);
  });
});

/** Runs the app as the CDK CLI does, with this context; only its exit status and stderr matter here. */
function runApp(context: Record<string, unknown>) {
  const outdir = mkdtempSync(join(tmpdir(), 'bridge-app-'));
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
    cwd: fileURLToPath(PROJECT_ROOT),
    // What the CDK CLI hands the app.
    env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
    encoding: 'utf8',
  });
  rmSync(outdir, { recursive: true, force: true });
  return result;
}

describe('infra/app.ts', () => {
  it('fails the synth with the list of context problems, not a stack trace', () => {
    const result = runApp({});
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /vpcId is not set: .* -c vpcId=vpc-/);
    assert.match(result.stderr, /pushTokenHashes is not set/);
    assert.doesNotMatch(result.stderr, /^\s+at /m);
  });

  it("refuses to synthesize (so to deploy) with cdk.json's context alone: one message lists every value to pass", () => {
    const result = runApp(cdkJsonContext());
    assert.equal(result.status, 1, result.stderr);
    assert.equal(result.stderr.match(/cannot be synthesized/g)?.length, 1, result.stderr);
    for (const key of [
      'vpcId',
      'subnetIds',
      'routeTableIds',
      'openTsdbUrl',
      'catchpointCredentialsParameter',
      'pushTokenHashes',
    ]) {
      assert.match(result.stderr, new RegExp(`\\n\\s+- ${key} is not set: .*-c ${key}=\\S`), key);
    }
    assert.doesNotMatch(result.stderr, /^\s+at /m);
  });
});

describe('the example synth of the tests', () => {
  it('is exactly what CI runs', () => {
    const ci = readFileSync(new URL('.ci/run', PROJECT_ROOT), 'utf8').split('\n');
    assert.ok(ci.includes(EXAMPLE_SYNTH_COMMAND), `.ci/run runs ${EXAMPLE_SYNTH_COMMAND}`);
  });
});

describe("README's example synth", () => {
  const readme = readFileSync(new URL('README.md', PROJECT_ROOT), 'utf8');
  const commands = readme.split('\n').filter((line) => line.startsWith('npx cdk synth'));

  it("passes the example token's hash, and is exactly what CI runs", () => {
    assert.equal(commands.length, 1, 'one example synth command in README');
    const command = commands[0]!;
    assert.ok(command.includes(` -c pushTokenHashes=${EXAMPLE_PUSH_TOKEN_HASH}`), command);
    const ci = readFileSync(new URL('.ci/run', PROJECT_ROOT), 'utf8').split('\n');
    assert.ok(ci.includes(command), ".ci/run runs README's example synth");
    assert.deepEqual(parse({ ...cdkJsonContext(), ...contextOf(command) }).pushTokenHashes, [
      EXAMPLE_PUSH_TOKEN_HASH,
    ]);
  });
});

/** The `-c key=value` pairs of a command line. */
function contextOf(command: string): Record<string, string> {
  const pairs = [...command.matchAll(/(?:^|\s)-c\s+([^=\s]+)=(\S*)/g)].map((m) => [m[1]!, m[2]!]);
  return Object.fromEntries(pairs);
}
