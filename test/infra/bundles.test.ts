// Imports every synthesized function bundle as the Lambda runtime would (ESM, index.mjs), so a bundle that
// cannot load — a CommonJS `require` left in an ESM bundle, a missing module — fails CI, not the deploy.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
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
