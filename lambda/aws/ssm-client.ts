import { SSMClient, type SSMClientConfig } from '@aws-sdk/client-ssm';
import { boundedRequests } from './bounded-requests.js';

/** An SSM client whose every request is bounded (see boundedRequests). */
export function boundedSsmClient(requestTimeoutMs: number, extra: Partial<SSMClientConfig> = {}): SSMClient {
  return new SSMClient({ ...boundedRequests(requestTimeoutMs), ...extra });
}
