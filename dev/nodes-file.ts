// A node list on disk, for `npm start` (NODES_FILE) and written by `npm run nodes -- --out nodes.json`.
// Accepted: a v1 answer `{"items":[…]}`, a v2 answer `{"data":{"nodes":[…]}}`, `{"nodes":[…]}`, or a plain
// array of raw v1/v2 nodes or of normalised NodeRecords (what writeNodesFile writes), mixed if need be.

import { readFile, writeFile } from 'node:fs/promises';
import type { V1Item, V2EnterpriseNode, V2Node } from '../lambda/catchpoint-api/node-api-types.js';
import type { NodeRecord } from '../lambda/nodes/node-record.js';
import {
  normaliseV1Item,
  normaliseV2Node,
  type RecordStamp,
  recordStamp,
} from '../lambda/nodes/normalise-node.js';
import { parseAsn } from '../lambda/shared/asn.js';
import { countryByName } from '../lambda/shared/countries.js';
import { errorText } from '../lambda/shared/error-text.js';
import { isObject, type JsonObject } from '../lambda/shared/json-fields.js';
import { knownText } from '../lambda/shared/known-text.js';

export class NodesFileError extends Error {
  override name = 'NodesFileError';
}

export interface ReadNodesOptions {
  /** Epoch milliseconds; the records are stamped as refreshed now. */
  now?: number;
  /** Days until the loaded records expire. Default 7. */
  ttlDays?: number;
}

/**
 * The file's nodes as NodeRecords. Every record is stamped to expire `ttlDays` from now, whatever the file
 * says: the file is what the operator chose to load, however old it is. Entries without a usable id or name
 * are dropped; a later entry for the same id wins.
 */
export async function readNodesFile(path: string, options: ReadNodesOptions = {}): Promise<NodeRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new NodesFileError(`cannot read nodes file ${path}: ${errorText(error)}`);
  }
  return parseNodesFile(text, path, options);
}

export function parseNodesFile(text: string, path: string, options: ReadNodesOptions = {}): NodeRecord[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new NodesFileError(`nodes file ${path} is not JSON: ${errorText(error)}`);
  }
  const entries = nodeEntries(json);
  if (entries === undefined) {
    throw new NodesFileError(
      `nodes file ${path} holds no node list: expected an array, {"items":[…]} (API v1) or {"data":{"nodes":[…]}} (API v2)`,
    );
  }
  const stamp = recordStamp(options.now ?? Date.now(), options.ttlDays ?? 7);
  const byId = new Map<number, NodeRecord>();
  for (const entry of entries) {
    const record = isObject(entry) ? toRecord(entry, stamp) : undefined;
    if (record) byId.set(record.nodeId, record);
  }
  return [...byId.values()];
}

/** Writes the records as a JSON array, one node per line, sorted by id (diff-friendly). */
export async function writeNodesFile(path: string, records: readonly NodeRecord[]): Promise<void> {
  const sorted = [...records].sort((a, b) => a.nodeId - b.nodeId);
  const body =
    sorted.length === 0 ? '[]\n' : `[\n${sorted.map((r) => `  ${JSON.stringify(r)}`).join(',\n')}\n]\n`;
  await writeFile(path, body, 'utf8');
}

function nodeEntries(json: unknown): unknown[] | undefined {
  if (Array.isArray(json)) return json;
  if (!isObject(json)) return undefined;
  if (Array.isArray(json.items)) return json.items;
  if (Array.isArray(json.nodes)) return json.nodes;
  if (isObject(json.data) && Array.isArray(json.data.nodes)) return json.data.nodes;
  return undefined;
}

function toRecord(entry: JsonObject, stamp: RecordStamp): NodeRecord | undefined {
  if ('nodeId' in entry) return fromNodeRecord(entry, stamp);
  if (looksLikeV1(entry)) return normaliseV1Item(entry as V1Item, stamp);
  // A v2 node, from /nodes/all or from the Enterprise list (whose extra fields it then reads itself).
  return normaliseV2Node(entry as V2Node, entry as V2EnterpriseNode, stamp);
}

/** v1 items use snake_case and `asn.value`; v2 nodes use camelCase and `asn.id`. */
function looksLikeV1(entry: JsonObject): boolean {
  if (['network_type', 'ip_ranges', 'isp', 'region', 'coordinates'].some((key) => key in entry)) return true;
  return isObject(entry.asn) && 'value' in entry.asn;
}

const TEXT_FIELDS = ['city', 'region', 'country', 'countryCode', 'continent', 'isp', 'networkType'] as const;

/**
 * An already-normalised record (as writeNodesFile writes it), checked field by field and re-stamped. Only
 * positive node ids are nodes: the nodes table's own state item (nodeId REFRESH_STATE_KEY, -1), say in a
 * dump of the table, is left out. Placeholders (`N/A`, `Unknown`, `-`) are no values.
 */
function fromNodeRecord(entry: JsonObject, stamp: RecordStamp): NodeRecord | undefined {
  const nodeId = entry.nodeId;
  const name = knownText(entry.name);
  if (typeof nodeId !== 'number' || !Number.isSafeInteger(nodeId) || nodeId <= 0 || name === undefined)
    return undefined;
  const record: NodeRecord = { nodeId, name, updatedAt: stamp.updatedAt, expiresAt: stamp.expiresAt };
  const asn = parseAsn(entry.asn);
  if (asn !== undefined) record.asn = asn;
  for (const key of TEXT_FIELDS) {
    const value = knownText(entry[key]);
    if (value !== undefined) record[key] = value;
  }
  // Name the country as the metrics do, even in a file written before the names were made consistent.
  if (record.country) record.country = countryByName(record.country)?.name ?? record.country;
  if (typeof entry.updatedAt === 'string' && !Number.isNaN(Date.parse(entry.updatedAt))) {
    record.updatedAt = entry.updatedAt;
  }
  return record;
}
