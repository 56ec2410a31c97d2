import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { type CatchpointCredentials, parseCredentials } from '../catchpoint-api/api-credentials.js';
import { errorText } from '../shared/error-text.js';

/** Reads the Catchpoint credentials JSON from an SSM SecureString, decrypted. Errors never hold the value. */
export async function loadCredentials(
  ssm: Pick<SSMClient, 'send'>,
  name: string,
): Promise<CatchpointCredentials> {
  let value: string | undefined;
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    value = out.Parameter?.Value;
  } catch (error) {
    throw new Error(`could not read the SSM parameter ${name} (${errorText(error, { withName: true })})`);
  }
  if (value === undefined) throw new Error(`the SSM parameter ${name} has no value`);
  return parseCredentials(value, `the SSM parameter ${name}`);
}
