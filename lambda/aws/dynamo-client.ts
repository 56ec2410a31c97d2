import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { boundedRequests } from './bounded-requests.js';

/** A DynamoDB client whose every request is bounded (see boundedRequests). */
export function boundedDynamoClient(
  requestTimeoutMs: number,
  extra: Partial<DynamoDBClientConfig> = {},
): DynamoDBClient {
  return new DynamoDBClient({ ...boundedRequests(requestTimeoutMs), ...extra });
}
