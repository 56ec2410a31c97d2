import { fileURLToPath } from 'node:url';

/** The Node.js version the bundles target: the Lambda runtime's (see BRIDGE_RUNTIME). */
export const ESBUILD_TARGET = 'node24';

/** Prefer dependencies' ESM builds: CommonJS builds of the SDK crash an ESM bundle at import. */
export const MAIN_FIELDS = ['module', 'main'];

/**
 * Module replacements applied when bundling a function: the SDK's default credential chain becomes the
 * environment-variable provider, which is all Lambda needs (lambda/aws/env-credentials.ts).
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': fileURLToPath(
    new URL('../lambda/aws/env-credentials.ts', import.meta.url),
  ),
};
