// Synthesizes the bridge stack the way README's example `cdk synth` does (cdk.json's feature flags plus the
// command's -c values, optionally overridden), once per call: bundling the three functions takes seconds, so
// each test file synthesizes once and shares the result.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { readBridgeContext } from '../../infra/bridge-context.js';
import { BridgeStack } from '../../infra/bridge-stack.js';

export const PROJECT_ROOT = new URL('../../', import.meta.url);

/** The "context" block of cdk.json: the CDK feature flags, no network values, no push token hash. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL('cdk.json', PROJECT_ROOT), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

/**
 * The example synth that README gives and CI runs (test/infra/bridge-context.test.ts holds them to it): the
 * example network and the hash of the token "example-token", every value passed with -c.
 */
export const EXAMPLE_SYNTH_COMMAND =
  'npx cdk synth --no-notices -q ' +
  '-c pushTokenHashes=4d1566a1d7df42a8517456d60ea06ed284e535cfe4c956aa6ee172dbcdf945f7 ' +
  '-c vpcId=vpc-0123456789abcdef0 ' +
  '-c subnetIds=subnet-0123456789abcdef0,subnet-0fedcba9876543210 ' +
  '-c routeTableIds=rtb-0123456789abcdef0 ' +
  '-c openTsdbUrl=http://10.0.12.34:4242 ' +
  '-c catchpointCredentialsParameter=/catchpoint-bridge/credentials';

/** The `-c key=value` pairs of a command line. */
export function contextPairsOf(command: string): Record<string, string> {
  return Object.fromEntries(
    [...command.matchAll(/(?:^|\s)-c\s+([^=\s]+)=(\S*)/g)].map((m) => [m[1]!, m[2]!]),
  );
}

/** The context the example synth gives the app: cdk.json's, and the command's -c values. */
export function exampleContext(): Record<string, unknown> {
  return { ...cdkJsonContext(), ...contextPairsOf(EXAMPLE_SYNTH_COMMAND) };
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
