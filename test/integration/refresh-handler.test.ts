// The refresh function as its entry builds it: configuration read from an environment, real SSM and DynamoDB
// clients, Powertools' logger and metrics, pointed at stand-ins; then lambda/refresh.ts itself, with its own
// bounded clients, against an SSM and a DynamoDB that stop answering.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createNodesTable, type EmbeddedDynamo, startEmbeddedDynamo } from '../../dev/embedded-dynamo.js';
import { lambdaContext } from '../../dev/lambda-shim.js';
import { readRefreshConfig } from '../../lambda/config.js';
import { NodeTable } from '../../lambda/nodes/node-table.js';
import { createRefreshHandler, type RefreshHandler } from '../../lambda/nodes/refresh-handler.js';
import { createLogger, createMetrics } from '../../lambda/shared/observability.js';
import {
  type CatchpointStandIn,
  fixtureNodes,
  STAND_IN_API_KEY,
  startCatchpointStandIn,
} from '../support/catchpoint-stand-in.js';
import { type DynamoProxy, startDynamoProxy } from '../support/dynamo-proxy.js';
import { type SsmStandIn, startSsmStandIn } from '../support/ssm-stand-in.js';

const PARAMETER = '/catchpoint-bridge/catchpoint-api';
const TABLE = 'catchpoint-nodes';
const ENTRY_TABLE = 'catchpoint-nodes-entry';

let dynamo: EmbeddedDynamo;
let catchpoint: CatchpointStandIn;
let ssm: SsmStandIn;
let refresh: RefreshHandler;
const handler = () => refresh(undefined, lambdaContext('refresh', 180_000));

/**
 * Runs `fn`, returning the JSON lines it wrote to stdout and stderr (where Powertools writes). Anything else
 * (the test runner's own messages travel on stdout too) passes through untouched.
 */
async function outputOf(
  fn: () => Promise<unknown>,
): Promise<{ lines: Record<string, unknown>[]; error?: unknown }> {
  const lines: Record<string, unknown>[] = [];
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write);
  streams.forEach((stream, i) => {
    stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      if (typeof chunk === 'string' && chunk.startsWith('{')) {
        for (const line of chunk.split('\n').filter((l) => l.trim() !== '')) {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        }
        return true;
      }
      return writes[i]!.call(stream, chunk, ...rest);
    }) as typeof stream.write;
  });
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  } finally {
    streams.forEach((stream, i) => {
      stream.write = writes[i]!;
    });
  }
  return { lines, error };
}

before(async () => {
  dynamo = await startEmbeddedDynamo();
  await createNodesTable(dynamo.client, TABLE);
  catchpoint = await startCatchpointStandIn();
  ssm = await startSsmStandIn({ [PARAMETER]: { value: JSON.stringify({ apiKey: STAND_IN_API_KEY }) } });
  refresh = createRefreshHandler({
    config: readRefreshConfig({
      NODES_TABLE: TABLE,
      CATCHPOINT_CREDENTIALS_PARAMETER: PARAMETER,
      CATCHPOINT_API_URL: catchpoint.url,
    }),
    ssm: ssm.client(),
    store: new NodeTable(dynamo.client, TABLE),
    logger: createLogger('refresh'),
    metrics: createMetrics('refresh'),
  });
});
after(async () => {
  await catchpoint.close();
  await ssm.close();
  await dynamo.close();
});

describe('refresh Lambda handler', () => {
  it('refreshes the table and logs one structured result line and its metrics', async () => {
    const { lines, error } = await outputOf(() => handler());
    assert.equal(error, undefined);
    const rows = await new NodeTable(dynamo.client, TABLE).scanAll();
    assert.deepEqual(
      rows.map((r) => r.nodeId).sort((a, b) => a - b),
      [77, 80, 81, 9001],
    );

    const result = lines.find((l) => l.message === 'node refresh finished');
    assert.ok(result, JSON.stringify(lines));
    assert.equal(result.level, 'INFO');
    assert.equal(result.service, 'refresh');
    assert.equal(result.fetched, 4);
    assert.equal(result.written, 4);
    assert.equal(result.unchanged, 0);
    assert.equal(result.skipped, 0);
    assert.equal(typeof result.durationMs, 'number');

    const emf = lines.find((l) => '_aws' in l);
    assert.ok(emf, 'an EMF line');
    assert.equal(emf.NodesFetched, 4);
    assert.equal(emf.NodesWritten, 4);
    assert.deepEqual(ssm.requests[0]?.body, { Name: PARAMETER, WithDecryption: true });
  });

  it('fails the invocation, logs the reason and counts a RefreshFailures metric', async () => {
    catchpoint.data.v2Nodes = [];
    catchpoint.data.enterprise = [];
    const { lines, error } = await outputOf(() => handler());
    assert.ok(error instanceof Error);
    assert.match(error.message, /returned no usable node/);
    const failed = lines.find((l) => l.message === 'node refresh failed');
    assert.equal(failed?.level, 'ERROR');
    assert.equal(failed?.reason, 'no-nodes');
    assert.equal(lines.find((l) => '_aws' in l)?.RefreshFailures, 1);
    assert.equal(ssm.requests.length, 1, 'credentials cached across invocations');
  });
});

describe('refresh Lambda entry (lambda/refresh.ts), its own SSM and DynamoDB clients', () => {
  let proxy: DynamoProxy;
  let entry: RefreshHandler;
  const invoke = () => entry(undefined, lambdaContext('refresh', 180_000));

  before(async () => {
    proxy = await startDynamoProxy(dynamo.endpoint);
    await createNodesTable(dynamo.client, ENTRY_TABLE);
    Object.assign(process.env, {
      NODES_TABLE: ENTRY_TABLE,
      CATCHPOINT_CREDENTIALS_PARAMETER: PARAMETER,
      CATCHPOINT_API_URL: catchpoint.url,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL_SSM: ssm.url,
      AWS_ENDPOINT_URL_DYNAMODB: proxy.url,
    });
    entry = (await import('../../lambda/refresh.js')).handler;
  });
  after(async () => {
    await proxy.close();
  });

  /**
   * The invocation fails with `reason`, logged, long before the function's 3 minutes: each call gives up
   * after its two 5 s attempts. (Without client timeouts it would wait until the Lambda is killed.)
   */
  async function failsInTime(reason: string, message: RegExp): Promise<void> {
    const started = Date.now();
    const { lines, error } = await outputOf(() => invoke());
    const elapsedMs = Date.now() - started;
    assert.ok(error instanceof Error, 'the invocation failed');
    assert.match(error.message, message);
    assert.ok(elapsedMs < 60_000, `failed after ${elapsedMs} ms`);
    const failed = lines.find((l) => l.message === 'node refresh failed');
    assert.equal(failed?.level, 'ERROR');
    assert.equal(failed?.reason, reason);
    assert.match(String(failed?.error), message);
    assert.equal(lines.find((l) => '_aws' in l)?.RefreshFailures, 1);
  }

  it('an SSM that never answers fails the run with its reason', { timeout: 90_000 }, async () => {
    ssm.silent = true;
    try {
      await failsInTime('credentials-failed', /could not read the SSM parameter .*TimeoutError/);
    } finally {
      ssm.silent = false;
    }
  });

  it('refreshes through them once SSM answers', async () => {
    catchpoint.data.v2Nodes = fixtureNodes().v2Nodes;
    catchpoint.data.enterprise = fixtureNodes().enterprise;
    const { error } = await outputOf(() => invoke());
    assert.equal(error, undefined);
    assert.equal((await new NodeTable(dynamo.client, ENTRY_TABLE).scanAll()).length, 4);
  });

  it('a DynamoDB that never answers fails the run with its reason', { timeout: 90_000 }, async () => {
    proxy.silent.add('*');
    await failsInTime(
      'table-read-failed',
      /could not read the nodes table, nothing was written: TimeoutError/,
    );
    assert.deepEqual(proxy.operations.slice(-2), ['Scan', 'Scan'], 'one retry');
  });
});
