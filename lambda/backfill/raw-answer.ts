/**
 * The `data` of `GET /api/v2/tests/explorer/raw` as the published description has it (AnalyticsApiResponse
 * of AnalyticsResponseRaw, spec §9). Everything is optional here: the answer is read defensively.
 */
export interface RawData {
  responseItems?: RawResponseItem[] | null;
  hasMore?: boolean | null;
  next?: string | null;
  previous?: string | null;
}

export interface RawResponseItem {
  startTimeUtc?: string;
  endTimeUtc?: string;
  timeZoneOffSet?: string | null;
  hasMoreRecords?: boolean;
  dimensions?: { id?: number; name?: string | null }[] | null;
  indicators?: { id?: number; index?: number; name?: string | null }[] | null;
  tracepoints?: { id?: number; index?: number; name?: string | null }[] | null;
  /** `values[k]` of an item belongs to the entry whose `index` is k. */
  metrics?: { index?: number; name?: string | null }[] | null;
  items?: RawItem[] | null;
  summaryItems?: RawItem[] | null;
}

/** One run. */
export interface RawItem {
  dateTime?: string | null;
  reportDate?: string | null;
  values?: (number | null)[] | null;
  dimensions?: RawDimension[] | null;
  indicators?: (number | null)[] | null;
  tracepoints?: string[] | null;
}

export interface RawDimension {
  type?: { id?: number; name?: string | null } | null;
  id?: number;
  name?: string | null;
}

/** `usageLimits` of the v2 envelope (ApiUsageStatistics): `limits` are the caps; what `runs` counts is not described. */
export interface UsageLimits {
  limits?: PerPeriod;
  runs?: PerPeriod;
}

export interface PerPeriod {
  minute?: number;
  hour?: number;
  day?: number;
}
