/** The exact texts the stand-in answers with. */
export const OpenTsdbMessages = {
  metricEmpty: 'Metric name was empty',
  invalidTimestamp: 'Invalid timestamp',
  emptyValue: 'Empty value',
  missingTags: 'Missing tags',
  notANumber: 'Unable to parse value to a number',
  tooManyTags: (count: number, max: number, tags: string): string =>
    `Too many tags: ${count} maximum allowed: ${max}, tags: ${tags}`,
  /** `what` is "metric name", "tag name" or "tag value" in puts; "metric", "tagk" or "tagv" in uid/assign. */
  illegalCharacter: (what: string, name: string, unit: string): string =>
    `Invalid ${what} ("${name}"): illegal character: ${renderUnit(unit)}`,
  emptyName: (what: string): string => `Invalid ${what}: empty string`,
  nullName: (what: string): string => `Invalid ${what}: null`,
  unknownMetric: (metric: string): string => `Unknown metric: No such name for 'metrics': '${metric}'`,
  throttle: 'Please throttle',
  /** What a `sync` put is told of a point HBase failed to store (PutDataPointRpc's "Storage exception: "). */
  storage: 'Storage exception: org.hbase.async.RegionOfflineException: tsdb,,1 is offline (stand-in)',
  /** What a `sync` put is told of a point not stored when its `sync_timeout` passed. */
  writeTimedOut: 'Write timedout',
  /** A reason no writer has seen: OpenTSDB passes exception messages through as they are. */
  unseenException:
    'java.lang.IllegalStateException: MutationBuffer#flushLocked: row lock lease expired (stand-in)',
  someFailed: 'One or more data points had errors',
  someFailedDetails: 'Please see the TSD logs or append "details" to the put request',
  chunked: 'Chunked request not supported.',
  noDatapoints: 'No datapoints found in content',
  missingContent: 'Missing request content',
  badJson: 'Unable to parse the given JSON',
  methodNotAllowed: 'Method not allowed',
  notFound: 'Endpoint not found',
  internal: 'Unexpected exception',
  alreadyExists: (uid: string): string => `Name already exists with UID: ${uid}`,
  missingAssign: 'Missing values to assign UIDs',
} as const;

/** Surrogate halves and control characters are shown as \uXXXX, anything else as itself. */
function renderUnit(unit: string): string {
  const code = unit.charCodeAt(0);
  if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0xd800 && code <= 0xdfff)) {
    return `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return unit;
}
