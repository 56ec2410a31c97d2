// Catchpoint REST API credentials: a v2 static API key, or a v1 OAuth client id + secret.
// Errors name what is wrong, never the values: they end up in logs.

import type { Env } from '../config.js';
import { isObject } from '../shared/json-fields.js';

export type CatchpointCredentials =
  | { version: 'v2'; apiKey: string }
  | { version: 'v1'; clientId: string; clientSecret: string };

export class CredentialsError extends Error {
  override name = 'CredentialsError';
}

/**
 * The JSON kept in the SSM SecureString: `{"apiKey":"…"}` (API v2) or `{"clientId":"…","clientSecret":"…"}`
 * (API v1). `source` names where it came from, for the error message.
 */
export function parseCredentials(json: string, source: string): CatchpointCredentials {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    // JSON.parse's message quotes the text: it could hold the secret.
    throw new CredentialsError(
      `${source} is not JSON: expected {"apiKey":"…"} or {"clientId":"…","clientSecret":"…"}`,
    );
  }
  if (!isObject(value)) {
    throw new CredentialsError(
      `${source} must be a JSON object with "apiKey", or "clientId" and "clientSecret"`,
    );
  }
  return fromFields(
    { apiKey: value.apiKey, clientId: value.clientId, clientSecret: value.clientSecret },
    source,
    { apiKey: '"apiKey"', clientId: '"clientId"', clientSecret: '"clientSecret"' },
  );
}

/**
 * Credentials for local use: `CATCHPOINT_API_KEY` (v2), or `CATCHPOINT_CLIENT_ID` and
 * `CATCHPOINT_CLIENT_SECRET` (v1). Undefined when none of them is set.
 */
export function credentialsFromEnv(env: Env): CatchpointCredentials | undefined {
  const apiKey = env.CATCHPOINT_API_KEY;
  const clientId = env.CATCHPOINT_CLIENT_ID;
  const clientSecret = env.CATCHPOINT_CLIENT_SECRET;
  if (![apiKey, clientId, clientSecret].some((v) => v !== undefined && v.trim() !== '')) return undefined;
  return fromFields({ apiKey, clientId, clientSecret }, 'the environment', {
    apiKey: 'CATCHPOINT_API_KEY',
    clientId: 'CATCHPOINT_CLIENT_ID',
    clientSecret: 'CATCHPOINT_CLIENT_SECRET',
  });
}

interface Fields {
  apiKey: unknown;
  clientId: unknown;
  clientSecret: unknown;
}

function fromFields(
  fields: Fields,
  source: string,
  names: Record<keyof Fields, string>,
): CatchpointCredentials {
  const apiKey = nonEmpty(fields.apiKey, names.apiKey, source);
  const clientId = nonEmpty(fields.clientId, names.clientId, source);
  const clientSecret = nonEmpty(fields.clientSecret, names.clientSecret, source);
  if (apiKey !== undefined) {
    if (clientId !== undefined || clientSecret !== undefined) {
      throw new CredentialsError(
        `${source} has both ${names.apiKey} and ${names.clientId}/${names.clientSecret}: give one API version only`,
      );
    }
    return { version: 'v2', apiKey };
  }
  if (clientId !== undefined && clientSecret !== undefined) return { version: 'v1', clientId, clientSecret };
  if (clientId !== undefined || clientSecret !== undefined) {
    const missing = clientId === undefined ? names.clientId : names.clientSecret;
    throw new CredentialsError(
      `${source} lacks ${missing}: API v1 needs both ${names.clientId} and ${names.clientSecret}`,
    );
  }
  throw new CredentialsError(
    `${source} has no Catchpoint credentials: give ${names.apiKey} (API v2), or ${names.clientId} and ${names.clientSecret} (API v1)`,
  );
}

function nonEmpty(value: unknown, name: string, source: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new CredentialsError(`${source}: ${name} must be a string`);
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}
