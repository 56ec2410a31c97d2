/**
 * The settings that bound every request of an AWS SDK client, whatever the service. The SDK's default
 * handler waits forever; its `requestTimeout` alone only prints a warning unless `throwOnRequestTimeout` is
 * set, and it stops counting once an answer's headers are in, so `socketTimeout` (silence on the socket, the
 * body included) bounds the rest. One SDK retry: a call gives up after about twice `requestTimeoutMs`. A
 * caller that must end by a deadline (a Lambda's timeout) also passes an `abortSignal` to `send`.
 */
export function boundedRequests(requestTimeoutMs: number) {
  return {
    maxAttempts: 2,
    requestHandler: {
      connectionTimeout: Math.min(1000, requestTimeoutMs),
      requestTimeout: requestTimeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: requestTimeoutMs,
    },
  };
}
