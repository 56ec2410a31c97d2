/**
 * Why a push is not an acceptable Catchpoint test run. Domain code says only the kind; the API Gateway
 * adapter (lambda/push/api-gateway.ts) alone turns it into an HTTP status.
 */
export type RejectionKind =
  /** Not a POST. */
  | 'wrong-method'
  /** The push token is missing or not accepted. */
  | 'unauthorized'
  /** The body is larger than any test run. */
  | 'too-large'
  /** A format the bridge does not read (XML). */
  | 'unsupported-format'
  /** Anything else that is not a test run. */
  | 'invalid';

/** A push that is not an acceptable Catchpoint test run, with a one-line reason for the sender. */
export class PushRejected extends Error {
  override name = 'PushRejected';
  constructor(
    readonly kind: RejectionKind,
    message: string,
  ) {
    super(message);
  }
}
