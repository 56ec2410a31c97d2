// `npm run nodes -- --out nodes.json`: fetches the Catchpoint node list with the refresh's own client and
// normalisation, and writes it as a file that `npm start` loads through NODES_FILE.
// Credentials: CATCHPOINT_API_KEY (API v2), or CATCHPOINT_CLIENT_ID and CATCHPOINT_CLIENT_SECRET (API v1).
// CATCHPOINT_API_URL overrides https://io.catchpoint.com.

import { parseArgs } from 'node:util';
import { writeNodesFile } from '../dev/nodes-file.js';
import { createCatchpointClient } from '../lambda/catchpoint-api/api-client.js';
import { credentialsFromEnv } from '../lambda/catchpoint-api/api-credentials.js';
import { readCatchpointApiSettings } from '../lambda/config.js';
import { normaliseNodeList, recordStamp } from '../lambda/nodes/normalise-node.js';
import { errorText } from '../lambda/shared/error-text.js';

const USAGE = `usage: npm run nodes -- --out <file>

Fetches every Catchpoint node and writes the normalised list to <file> (use it with NODES_FILE=<file> npm start).
Environment: CATCHPOINT_API_KEY (API v2), or CATCHPOINT_CLIENT_ID and CATCHPOINT_CLIENT_SECRET (API v1);
CATCHPOINT_API_URL (default https://io.catchpoint.com).`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.out) {
    console.error(USAGE);
    return 2;
  }
  const env = process.env;
  const credentials = credentialsFromEnv(env);
  if (credentials === undefined) {
    console.error(
      'no Catchpoint credentials: set CATCHPOINT_API_KEY (API v2), or CATCHPOINT_CLIENT_ID and CATCHPOINT_CLIENT_SECRET (API v1)',
    );
    return 2;
  }
  const { catchpointApiUrl, nodeTtlDays } = readCatchpointApiSettings(env);
  const client = createCatchpointClient(credentials, {
    baseUrl: catchpointApiUrl,
    onRetry: (retry) =>
      console.error(`retrying ${retry.method} ${retry.path} in ${retry.delayMs} ms: ${retry.reason}`),
  });
  const raw = await client.fetchNodes();
  const { records, skipped } = normaliseNodeList(raw, recordStamp(Date.now(), nodeTtlDays));
  await writeNodesFile(values.out, records);
  console.error(
    `wrote ${records.length} nodes (API ${credentials.version}${skipped > 0 ? `, ${skipped} skipped` : ''}) to ${values.out}`,
  );
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`fetching the nodes failed: ${errorText(error)}`);
    process.exitCode = 1;
  },
);
