// Catchpoint's node lists (v1 items, v2 nodes merged with the Enterprise list) → the normalised NodeRecord
// the push path reads. Pure: no I/O, the clock comes in as `stamp`, what the table holds comes in as `known`.

import type {
  NamedRef,
  RawNodeList,
  V1Item,
  V2EnterpriseNode,
  V2Node,
} from '../catchpoint-api/node-api-types.js';
import { parseAsn } from '../shared/asn.js';
import { countryByCode, countryByName } from '../shared/countries.js';
import { isPlaceholder, knownText } from '../shared/known-text.js';
import { type NodeNameParts, parseNodeName } from '../shared/node-name.js';
import type { NodeRecord } from './node-record.js';

/** The refresh's time stamps, identical for every record one run writes. */
export interface RecordStamp {
  /** ISO-8601 time of the refresh. */
  updatedAt: string;
  /** Epoch seconds after which the record is stale. */
  expiresAt: number;
}

export function recordStamp(nowMs: number, ttlDays: number): RecordStamp {
  return {
    updatedAt: new Date(nowMs).toISOString(),
    expiresAt: Math.floor(nowMs / 1000) + ttlDays * 86_400,
  };
}

/** The result of normalising a whole list: the records, and how many entries could not be used. */
export interface NormalisedNodes {
  records: NodeRecord[];
  /** Entries without a usable id or name, and repeats of an id already seen. */
  skipped: number;
}

/** The records the table already holds, by node id. */
export type KnownNodes = ReadonlyMap<number, NodeRecord>;

/**
 * The whole list as records. With `known` (the table's records), an attribute the API does not tell is kept
 * from the node's known record before anything is filled in from the node name (see `build`).
 */
export function normaliseNodeList(raw: RawNodeList, stamp: RecordStamp, known?: KnownNodes): NormalisedNodes {
  const knownOf = (rawId: unknown): NodeRecord | undefined => {
    const id = known === undefined ? undefined : nodeId(rawId);
    return id === undefined ? undefined : known?.get(id);
  };
  if (raw.version === 'v1') {
    return collect(raw.items.map((item) => normaliseV1Item(item, stamp, knownOf(item.id))));
  }
  const enterpriseById = new Map<number, V2EnterpriseNode>();
  for (const node of raw.enterprise) {
    const id = nodeId(node.id);
    if (id !== undefined) enterpriseById.set(id, node);
  }
  const candidates: (NodeRecord | undefined)[] = [];
  const seen = new Set<number>();
  for (const node of raw.nodes) {
    const id = nodeId(node.id);
    if (id !== undefined) seen.add(id);
    const enterpriseNode = id === undefined ? undefined : enterpriseById.get(id);
    candidates.push(normaliseV2Node(node, enterpriseNode, stamp, knownOf(id)));
  }
  // Enterprise nodes missing from /nodes/all still run tests: keep them with what the Enterprise list tells.
  for (const [id, node] of enterpriseById) {
    if (!seen.has(id)) candidates.push(normaliseV2Node(node, node, stamp, knownOf(id)));
  }
  return collect(candidates);
}

function collect(candidates: readonly (NodeRecord | undefined)[]): NormalisedNodes {
  const byId = new Map<number, NodeRecord>();
  let skipped = 0;
  for (const record of candidates) {
    if (record === undefined || byId.has(record.nodeId)) skipped++;
    else byId.set(record.nodeId, record);
  }
  return { records: [...byId.values()], skipped };
}

/** A v1 item. The ASN `"AS4837"` becomes 4837. Undefined when the item has no usable id or name. */
export function normaliseV1Item(
  item: V1Item,
  stamp: RecordStamp,
  known?: NodeRecord,
): NodeRecord | undefined {
  const id = nodeId(item.id);
  const name = knownText(item.name);
  if (id === undefined || name === undefined) return undefined;
  return build(
    id,
    name,
    {
      asn: parseAsn(item.asn?.value),
      city: refName(item.city),
      region: refName(item.region),
      country: refName(item.country),
      continent: refName(item.continent),
      isp: refName(item.isp),
      networkType: refName(item.network_type),
    },
    stamp,
    known,
  );
}

/**
 * A v2 node of `/nodes/all`, merged with its entry of the Enterprise list (`/nodes`) when there is one: the
 * Enterprise list gives ISP, state and continent; `/nodes/all` gives the ASN. A public node takes its ISP
 * from its name ("City, CC - ISP") and its continent from its country.
 */
export function normaliseV2Node(
  node: V2Node | V2EnterpriseNode,
  enterprise: V2EnterpriseNode | undefined,
  stamp: RecordStamp,
  known?: NodeRecord,
): NodeRecord | undefined {
  const id = nodeId(node.id);
  const name = knownText(node.name) ?? knownText(enterprise?.name);
  if (id === undefined || name === undefined) return undefined;
  const asn = 'asn' in node ? parseAsn(node.asn?.id) : undefined;
  return build(
    id,
    name,
    {
      asn,
      city: refName(node.city) ?? refName(enterprise?.city),
      region: refName(enterprise?.state),
      country: refName(node.country) ?? refName(enterprise?.country),
      continent: refName(enterprise?.continent),
      isp: refName(enterprise?.internetServiceProvider),
      networkType: refName(node.networkType) ?? refName(enterprise?.networkType),
    },
    stamp,
    known,
  );
}

interface ApiFields {
  asn: number | undefined;
  city: string | undefined;
  region: string | undefined;
  country: string | undefined;
  continent: string | undefined;
  isp: string | undefined;
  networkType: string | undefined;
}

/**
 * The record: what the API tells; else what the node's known record had from the API (a thinner answer, such
 * as an empty Enterprise list or API v2 after v1, never strips what the table knows); else what the node
 * name and the country tables tell. Only known values are kept. The country is named as the metrics name
 * it (lambda/shared/countries.ts: "South Korea", not the API's "Korea, Republic of"), so that a node's
 * series do not depend on whether the push path found it in the table.
 */
function build(
  nodeId: number,
  name: string,
  fromApi: ApiFields,
  stamp: RecordStamp,
  known: NodeRecord | undefined,
): NodeRecord {
  const fromName = parseNodeName(name);
  const api = known?.nodeId === nodeId ? withKnown(fromApi, known, fromName) : fromApi;
  const byName = api.country ? countryByName(api.country) : undefined;
  const byCode = fromName.countryCode ? countryByCode(fromName.countryCode) : undefined;
  const country = byName ?? byCode;
  return {
    nodeId,
    name,
    ...withoutUndefined({
      asn: api.asn,
      city: api.city ?? fromName.city,
      region: api.region,
      country: byName?.name ?? api.country ?? byCode?.name,
      countryCode: country?.code,
      continent: canonicalContinent(api.continent) ?? country?.continent,
      isp: api.isp ?? fromName.isp,
      networkType: api.networkType,
    }),
    updatedAt: stamp.updatedAt,
    expiresAt: stamp.expiresAt,
  };
}

/**
 * The API's fields, completed with the known record's values where the API tells nothing. A known value that
 * is only what the known record's own name or country gives is not kept (the new name gives it afresh: a
 * renamed node takes its new ISP), and nothing of the location is kept once the node is in another country.
 */
function withKnown(api: ApiFields, known: NodeRecord, fromName: NodeNameParts): ApiFields {
  const knownName = parseNodeName(known.name);
  const knownByCode = knownName.countryCode ? countryByCode(knownName.countryCode) : undefined;
  const knownCountry = (known.country ? countryByName(known.country) : undefined) ?? knownByCode;
  // A placeholder a table written before they were recognised may hold is no more known than a gap.
  const told = <T>(value: T | undefined, derived?: T): T | undefined =>
    value === undefined || (typeof value === 'string' && isPlaceholder(value)) || value === derived
      ? undefined
      : value;
  const sameCountry = isSameCountry(api.country, fromName.countryCode, known);
  const location = <T>(value: T | undefined): T | undefined => (sameCountry ? value : undefined);
  return {
    asn: api.asn ?? told(known.asn),
    city: api.city ?? location(told(known.city, knownName.city)),
    region: api.region ?? location(told(known.region)),
    country: api.country ?? location(told(known.country, knownByCode?.name)),
    continent: api.continent ?? location(told(known.continent, knownCountry?.continent)),
    isp: api.isp ?? told(known.isp, knownName.isp),
    networkType: api.networkType ?? told(known.networkType),
  };
}

/** False only when the API's country, or else the name's country code, places the node in another country. */
function isSameCountry(
  apiCountry: string | undefined,
  nameCode: string | undefined,
  known: NodeRecord,
): boolean {
  const nowCode =
    apiCountry !== undefined
      ? countryByName(apiCountry)?.code
      : nameCode !== undefined
        ? countryByCode(nameCode)?.code
        : undefined;
  const knownCode = known.countryCode ?? (known.country ? countryByName(known.country)?.code : undefined);
  if (nowCode !== undefined && knownCode !== undefined) return nowCode === knownCode;
  // A country outside the tables: compare the names as given.
  return apiCountry === undefined || known.country === undefined || apiCountry === known.country;
}

/** Drops the keys whose value is undefined, so records compare and serialise the same way wherever made. */
function withoutUndefined<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}

const CONTINENTS: Readonly<Record<string, string>> = {
  africa: 'Africa',
  antarctica: 'Antarctica',
  asia: 'Asia',
  europe: 'Europe',
  northamerica: 'North America',
  oceania: 'Oceania',
  australia: 'Oceania',
  australiaoceania: 'Oceania',
  australasia: 'Oceania',
  southamerica: 'South America',
};

/**
 * The continent under one of the seven names the metrics use (docs/metrics.md), whatever spelling the API
 * used ("NorthAmerica", "north_america", "Australia/Oceania"); undefined when it is not a continent.
 */
export function canonicalContinent(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  return CONTINENTS[name.toLowerCase().replace(/[^a-z]/g, '')];
}

function nodeId(value: unknown): number | undefined {
  const id = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** `{id, name}` → name; a bare string is taken as the name. A placeholder (`N/A`, `Unknown`, `-`) is none. */
function refName(ref: NamedRef | string | null | undefined): string | undefined {
  if (typeof ref === 'string') return knownText(ref);
  return typeof ref === 'object' && ref !== null ? knownText(ref.name) : undefined;
}
