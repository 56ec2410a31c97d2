// Catchpoint's REST API as the scheduled gap repair reads it. Placeholder until the raw-data client lands.
import type { CatchpointCredentials } from '../catchpoint-api/api-credentials.js';
import type { HttpOptions } from '../catchpoint-api/api-http.js';
import type { FailedRunSource } from './gap-repair-handler.js';

export function catchpointFailedRuns(
  _credentials: CatchpointCredentials,
  _options: HttpOptions,
): FailedRunSource {
  throw new Error('not yet wired to the raw-data client');
}
