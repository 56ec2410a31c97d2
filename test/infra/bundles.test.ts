// Imports every synthesized function bundle as the Lambda runtime would (ESM, index.mjs), so a bundle that
// cannot load — a CommonJS `require` left in an ESM bundle, a missing module — fails CI, not the deploy; and
// runs the push bundle as Lambda would, holding what it writes to the log per push to its limit.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type BundledPush, httpApiPushEvent, startBundledPush } from '../../dev/bundled-push/bundled-push.js';
import {
  createNodesTable,
  createSpoolTable,
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../dev/embedded-dynamo.js';
import { FIXTURE_NODES_FILE, pushFixture, pushFixtureNames } from '../../dev/fixtures.js';
import { readNodesFile } from '../../dev/nodes-file.js';
import { type OpenTsdbStandIn, startOpenTsdbStandIn } from '../../dev/opentsdb-stand-in/opentsdb-stand-in.js';
import { NodeTable } from '../../lambda/nodes/node-table.js';
import { sha256Hex } from '../../lambda/push/push-token.js';
import { deployedEnvironment, synthBridge } from './synth-bridge.js';

const { template, assembly } = synthBridge();

const bundles = Object.entries(template.findResources('AWS::Lambda::Function'))
  .filter(
    ([, fn]) =>
      fn.Properties.Handler === 'index.handler' &&
      fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME,
  )
  .map(([id, fn]) => {
    const s3Key = fn.Properties.Code.S3Key as string;
    const dir = join(assembly.directory, `asset.${s3Key.replace(/\.zip$/, '')}`);
    return { id, service: fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME as string, dir, fn };
  });

describe('function bundles', () => {
  it('finds one bundle per bridge function', () => {
    assert.deepEqual(bundles.map((b) => b.service).sort(), ['push', 'refresh', 'replay']);
  });

  for (const bundle of bundles) {
    it(`${bundle.service}: a minified ESM bundle with its source map`, () => {
      const file = join(bundle.dir, 'index.mjs');
      assert.ok(existsSync(file), `${file} exists`);
      const size = statSync(file).size;
      // The AWS SDK is bundled; several MB would mean CommonJS builds crept back in (see mainFields).
      assert.ok(size < 1.5 * 1024 * 1024, `${bundle.service} bundle is ${size} bytes`);
      const code = readFileSync(file, 'utf8');
      assert.ok(code.trimEnd().endsWith('//# sourceMappingURL=index.mjs.map'), 'source map reference');
      assert.ok(existsSync(join(bundle.dir, 'index.mjs.map')));
      // esbuild's shim for a CommonJS require() left in an ESM bundle: it throws when reached, maybe long
      // after the import (assert.ok, not doesNotMatch, so a failure does not print the whole bundle).
      assert.ok(!code.includes('Dynamic require of'), 'a CommonJS require() shim in the ESM bundle');
    });

    it(`${bundle.service}: imports with the deployed environment and exports a handler`, async () => {
      // The real handlers read their configuration at module scope: give them what the stack gives them.
      const env: Record<string, string> = { ...deployedEnvironment(bundle.fn), AWS_REGION: 'eu-west-1' };
      delete env.NODE_OPTIONS;
      const saved = { ...process.env };
      Object.assign(process.env, env);
      try {
        const module = (await import(pathToFileURL(join(bundle.dir, 'index.mjs')).href)) as {
          handler?: unknown;
        };
        assert.equal(typeof module.handler, 'function');
      } finally {
        for (const key of Object.keys(env)) {
          if (saved[key] === undefined) delete process.env[key];
          else process.env[key] = saved[key];
        }
      }
    });
  }
});

describe('the push bundle as Lambda runs it, with the default stack', () => {
  const push = bundles.find((b) => b.service === 'push')!;
  const TOKEN = 'bundle-token';
  let dynamo: EmbeddedDynamo;
  let tsdb: OpenTsdbStandIn;
  let fn: BundledPush;

  before(async () => {
    dynamo = await startEmbeddedDynamo();
    await createNodesTable(dynamo.client, 'nodes');
    await createSpoolTable(dynamo.client, 'spool');
    await new NodeTable(dynamo.client, 'nodes').putMany(await readNodesFile(FIXTURE_NODES_FILE));
    tsdb = await startOpenTsdbStandIn();
    fn = await startBundledPush({
      bundleFile: join(push.dir, 'index.mjs'),
      environment: {
        // What the stack gives the function; the tables and OpenTSDB are the local ones.
        ...deployedEnvironment(push.fn),
        NODES_TABLE: 'nodes',
        SPOOL_TABLE: 'spool',
        OPENTSDB_URL: tsdb.url,
        PUSH_TOKEN_HASHES: sha256Hex(TOKEN),
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      },
    });
  });
  after(async () => {
    await fn?.close();
    await tsdb?.close();
    await dynamo?.close();
  });

  it("drops Lambda's START and REPORT lines (system log level WARN): what the function writes is all", () => {
    assert.equal(push.fn.Properties.LoggingConfig.SystemLogLevel, 'WARN');
  });

  it('writes one line of at most 300 bytes per successful push, metrics included', async () => {
    const known = new Set((await readNodesFile(FIXTURE_NODES_FILE)).map((n) => n.nodeId));
    for (const name of pushFixtureNames()) {
      const body = pushFixture(name);
      // The first push of a fixture registers its metric names with OpenTSDB (logged once, at INFO).
      await fn.push(httpApiPushEvent(body, TOKEN), 1);
      const run = await fn.push(httpApiPushEvent(body, TOKEN), 3);
      assert.deepEqual(run.statuses, [200, 200, 200], name);
      const lines = run.lastLog.trimEnd().split('\n');
      assert.equal(lines.length, 1, `${name}: one line per push: ${run.lastLog}`);
      const line = JSON.parse(lines[0]!) as Record<string, unknown>;
      assert.equal(line.outcome, 'written');
      assert.ok(
        (line._aws as { CloudWatchMetrics: unknown[] }).CloudWatchMetrics.length === 1,
        'EMF metrics',
      );
      const nodeId = Number(line.nodeId);
      const limit = known.has(nodeId) ? 300 : 320; // an unknown node adds "unknownNode":1
      for (const bytes of run.logBytes) assert.ok(bytes <= limit, `${name}: ${bytes} bytes: ${run.lastLog}`);
    }
  });
});
