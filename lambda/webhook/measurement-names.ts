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

/**
 * A table's metric suffixes by raw field name, in any case. Each push names the same few fields: what each
 * raw name comes to is kept, so that a field costs one lookup (a payload's long names are worked out each
 * time, never kept).
 */
export class FieldNames {
  private readonly known = new Map<string, string | null>();

  constructor(private readonly table: Readonly<Record<string, string>>) {}

  /** The metric suffix for `key`, or undefined when it is not a known field. */
  get(key: string): string | undefined {
    if (key.length > 64) return this.lookup(key);
    let name = this.known.get(key);
    if (name === undefined) {
      name = this.lookup(key) ?? null;
      if (this.known.size >= FIELD_KEY_CACHE_SIZE) this.known.clear();
      this.known.set(key, name);
    }
    return name ?? undefined;
  }

  private lookup(key: string): string | undefined {
    const normalised = fieldKey(key);
    return Object.hasOwn(this.table, normalised) ? this.table[normalised] : undefined;
  }
}

// Catchpoint sends the same few field names in every push: each is normalised once.
const fieldKeys = new Map<string, string>();
const FIELD_KEY_CACHE_SIZE = 2048;

/** A field name lower-cased, with everything but letters and digits removed. */
export function fieldKey(key: string): string {
  // Catchpoint's names are short: a long key (hostile input) is normalised each time, never kept.
  if (key.length > 64) return key.toLowerCase().replace(/[^a-z0-9]/g, '');
  let normalised = fieldKeys.get(key);
  if (normalised === undefined) {
    normalised = key.toLowerCase().replace(/[^a-z0-9]/g, '');
    if (fieldKeys.size >= FIELD_KEY_CACHE_SIZE) fieldKeys.clear();
    fieldKeys.set(key, normalised);
  }
  return normalised;
}
