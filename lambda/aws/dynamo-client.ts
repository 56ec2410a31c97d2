import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

/**
 * A DynamoDB client whose every request is bounded: the SDK's default handler has no timeout, and its
 * `requestTimeout` alone only prints a warning unless `throwOnRequestTimeout` is set.
 */
export function boundedDynamoClient(
  requestTimeoutMs: number,
  extra: Partial<DynamoDBClientConfig> = {},
): DynamoDBClient {
  return new DynamoDBClient({
    maxAttempts: 2,
    requestHandler: {
      connectionTimeout: Math.min(1000, requestTimeoutMs),
      requestTimeout: requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
    ...extra,
  });
}
