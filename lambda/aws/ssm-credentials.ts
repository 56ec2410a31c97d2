import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { type CatchpointCredentials, parseCredentials } from '../catchpoint-api/api-credentials.js';
import { callFailure } from './call-failure.js';

/**
 * Reads the Catchpoint credentials JSON from an SSM SecureString, decrypted. Errors never hold the value.
 * `signal` ends the wait early (the run's deadline); the client's own timeouts bound each attempt.
 */
export async function loadCredentials(
  ssm: Pick<SSMClient, 'send'>,
  name: string,
  signal?: AbortSignal,
): Promise<CatchpointCredentials> {
  let value: string | undefined;
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }), {
      abortSignal: signal,
    });
    value = out.Parameter?.Value;
  } catch (error) {
    throw new Error(`could not read the SSM parameter ${name} (${callFailure(error, signal)})`);
  }
  if (value === undefined) throw new Error(`the SSM parameter ${name} has no value`);
  return parseCredentials(value, `the SSM parameter ${name}`);
}
