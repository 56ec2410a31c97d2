// OpenTSDB 2.4's limits on a write, as the stand-in enforces them (see /work/shared/spec/opentsdb.md).

/** Netty's maxChunkSize in the TSD: a body over this many bytes (as received) is a "chunked" request. */
export const OPENTSDB_MAX_BODY_BYTES = 8192;
/** `tsd.storage.max_tags` default. */
export const OPENTSDB_MAX_TAGS = 8;
/** Timestamps up to this value are seconds; larger ones are milliseconds. */
export const OPENTSDB_MAX_SECONDS = 4294967295;
/** Largest millisecond timestamp (13 digits). */
export const OPENTSDB_MAX_MILLIS = 9999999999999;
