/** One Catchpoint node as the push path reads it: the normalised row of the nodes table. */
export interface NodeRecord {
  nodeId: number;
  name: string;
  asn?: number;
  city?: string;
  region?: string;
  /** Country name, as lambda/shared/countries.ts spells it ("South Korea", not "Korea, Republic of"). */
  country?: string;
  /** ISO 3166 alpha-2 code, when known. */
  countryCode?: string;
  continent?: string;
  isp?: string;
  networkType?: string;
  /** ISO-8601 time of the refresh that wrote the record. */
  updatedAt: string;
  /** Epoch seconds after which the record is stale (the table's TTL attribute). */
  expiresAt: number;
}

/** Readers ignore expired records themselves: DynamoDB's TTL deletes lazily, and the local table has no TTL. */
export function isExpired(record: NodeRecord, nowMs: number): boolean {
  return record.expiresAt * 1000 <= nowMs;
}
