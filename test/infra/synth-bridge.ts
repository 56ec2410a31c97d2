// Synthesizes the bridge stack the way README's example `cdk synth` does (cdk.json's context plus the example
// push token hash, optionally overridden), once per call: bundling the three functions takes seconds, so each
// test file synthesizes once and shares the result.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { EXAMPLE_PUSH_TOKEN_HASH, readBridgeContext } from '../../infra/bridge-context.js';
import { BridgeStack } from '../../infra/bridge-stack.js';

export const PROJECT_ROOT = new URL('../../', import.meta.url);

/** The "context" block of cdk.json: example network values and feature flags, no push token hash. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL('cdk.json', PROJECT_ROOT), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

/** README's example context: cdk.json's, and `-c pushTokenHashes=<hash of "example-token">`. */
export function exampleContext(): Record<string, unknown> {
  return { ...cdkJsonContext(), pushTokenHashes: EXAMPLE_PUSH_TOKEN_HASH };
}

export interface SynthesizedBridge {
  app: App;
  stack: BridgeStack;
  template: Template;
  assembly: CloudAssembly;
}

/** `overrides` act like `-c key=value`; a key set to undefined is removed. */
export function synthBridge(overrides: Record<string, unknown> = {}): SynthesizedBridge {
  const context: Record<string, unknown> = { ...exampleContext(), ...overrides };
  for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete context[key];
  const outdir = mkdtempSync(join(tmpdir(), 'bridge-synth-'));
  // Bundles are megabytes: leave nothing behind once the test file is done.
  process.once('exit', () => rmSync(outdir, { recursive: true, force: true }));
  const app = new App({
    context,
    outdir,
    // The CloudFormation schema validation only downgrades to warnings and costs seconds per synth.
    builtinCloudFormationValidation: false,
  });
  const stack = new BridgeStack(app, 'CatchpointBridge', { context: readBridgeContext(app) });
  const assembly = app.synth();
  const template = Template.fromJSON(assembly.getStackArtifact(stack.artifactId).template);
  return { app, stack, template, assembly };
}

type Json = Record<string, unknown>;

/** The one resource of this type whose logical id starts with `prefix`. */
export function resourceByPrefix(
  template: Template,
  type: string,
  prefix: string,
): { id: string; resource: Json } {
  const matches = Object.entries(template.findResources(type)).filter(([id]) => id.startsWith(prefix));
  if (matches.length !== 1) {
    throw new Error(
      `expected one ${type} named ${prefix}…, found ${matches.map(([id]) => id).join(', ') || 'none'}`,
    );
  }
  const [id, resource] = matches[0]!;
  return { id, resource: resource as Json };
}

/** A function's environment as the deployed function would see it: references become plausible names. */
export function deployedEnvironment(functionResource: Json): Record<string, string> {
  const props = functionResource.Properties as { Environment?: { Variables?: Record<string, unknown> } };
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(props.Environment?.Variables ?? {})) {
    env[name] = typeof value === 'string' ? value : `resolved-${name.toLowerCase()}`;
  }
  return env;
}
