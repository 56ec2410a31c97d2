/** A push that is not an acceptable Catchpoint test run. `status` is the HTTP answer it deserves. */
export class PushRejected extends Error {
  override name = 'PushRejected';
  constructor(
    readonly status: 400 | 401 | 405 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}
