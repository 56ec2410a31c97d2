import { memoized } from '../shared/memoized.js';

/**
 * The measurement fields Catchpoint documents, by group: lower-cased field name (letters and digits only)
 * → the snake_case suffix of our metric name. Only these become metrics: a payload's own keys never invent
 * metric names, so the set OpenTSDB has to register stays small and fixed whatever arrives. A field
 * Catchpoint adds later is one line here.
 */
export const TIMING_FIELDS: Readonly<Record<string, string>> = {
  total: 'total',
  connect: 'connect',
  dns: 'dns',
  ssl: 'ssl',
  send: 'send',
  wait: 'wait',
  wire: 'wire',
  load: 'load',
  contentload: 'content_load',
  redirect: 'redirect',
  client: 'client',
  documentcomplete: 'document_complete',
  domload: 'dom_load',
  domcontentload: 'dom_content_load',
  domloading: 'dom_loading',
  domcomplete: 'dom_complete',
  domready: 'dom_ready',
  renderstart: 'render_start',
  firstpainttime: 'first_paint_time',
  firstcontentfulpainttime: 'first_contentful_paint_time',
  largestcontentfulpaint: 'largest_contentful_paint',
  largestcontentfulpainttime: 'largest_contentful_paint_time',
  timetointeractive: 'time_to_interactive',
  visuallycompletetime: 'visually_complete_time',
  timetotitle: 'time_to_title',
  timetofirstbyte: 'time_to_first_byte',
  totalblockingtime: 'total_blocking_time',
  responsetime: 'response_time',
  authentication: 'authentication',
  ftp: 'ftp',
  smtp: 'smtp',
  imap: 'imap',
  ntp: 'ntp',
  webpageresponse: 'webpage_response',
};

/** Kinds of the nested `ContentType` object (in Timing, Byte.Response and Counter). */
export const CONTENT_TYPE_KINDS: Readonly<Record<string, string>> = {
  image: 'image',
  script: 'script',
  html: 'html',
  css: 'css',
  font: 'font',
  media: 'media',
  video: 'video',
  xml: 'xml',
  json: 'json',
  text: 'text',
  redirect: 'redirect',
  other: 'other',
};

export const PING_FIELDS: Readonly<Record<string, string>> = {
  packetlosspct: 'packet_loss_pct',
  roundtriptimeavg: 'round_trip_time_avg',
  roundtriptimemin: 'round_trip_time_min',
  roundtriptimemax: 'round_trip_time_max',
  roundtriptimestddev: 'round_trip_time_std_dev',
  packetssent: 'packets_sent',
  packetsreceived: 'packets_received',
};

/** `Summary.Byte.Response`. */
export const BYTE_FIELDS: Readonly<Record<string, string>> = {
  content: 'content',
  headers: 'headers',
  totalcontent: 'total_content',
  totalheaders: 'total_headers',
};

export const COUNTER_FIELDS: Readonly<Record<string, string>> = {
  connections: 'connections',
  hosts: 'hosts',
  failedrequests: 'failed_requests',
  requests: 'requests',
  cached: 'cached',
  redirections: 'redirections',
  filmstripimages: 'filmstrip_images',
  jsfailures: 'js_failures',
};

/** A field name lower-cased, with everything but letters and digits removed. */
export const fieldKey = memoized((key) => key.toLowerCase().replace(/[^a-z0-9]/g, ''), {
  limit: 2048,
  maxKeyLength: 64,
});

/** The metric suffix of a raw field name (any case), or undefined when it is not a known field. */
export type FieldNames = (key: string) => string | undefined;

/** A table's FieldNames; what each raw name comes to is remembered, so a field of a push costs one lookup. */
export function fieldNames(table: Readonly<Record<string, string>>): FieldNames {
  const suffix = memoized(
    (key) => {
      const normalised = fieldKey(key);
      return Object.hasOwn(table, normalised) ? (table[normalised] ?? null) : null;
    },
    { limit: 2048, maxKeyLength: 64 },
  );
  return (key) => suffix(key) ?? undefined;
}
