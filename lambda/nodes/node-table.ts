import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  ScanCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { backoffDelay, sleep } from '../shared/backoff.js';
import type { CountSample } from './node-count-peak.js';
import type { NodeRecord } from './node-record.js';

/**
 * The key of the refresh's own state item (the node counts of the last week, see node-count-peak.ts). A
 * Catchpoint node id is a positive integer, so a negative key can never be a node's; every reader of node
 * records (fromItem, hence `get`, `scanAll` and the cache) skips it.
 */
export const REFRESH_STATE_KEY = -1;

/** What a refresh reads in one scan: the node records, and the counts its state item remembers. */
export interface StoredNodes {
  records: NodeRecord[];
  samples: CountSample[];
}

/**
 * The DynamoDB nodes table: partition key `nodeId` (number). All DynamoDB code for nodes lives here. Each
 * call is bounded by the client's timeouts (lambda/aws/bounded-requests.ts); `signal` ends a whole
 * operation early (the refresh's deadline).
 */
export class NodeTable {
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  async get(nodeId: number): Promise<NodeRecord | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { nodeId: { N: String(nodeId) } } }),
    );
    return out.Item ? fromItem(out.Item) : undefined;
  }

  /** Every node record (the state item left out). */
  async scanAll(signal?: AbortSignal): Promise<NodeRecord[]> {
    return (await this.readNodes(signal)).records;
  }

  /** Every node record, and the refresh's state item, in one scan. */
  async readNodes(signal?: AbortSignal): Promise<StoredNodes> {
    const records: NodeRecord[] = [];
    let samples: CountSample[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: startKey }),
        { abortSignal: signal },
      );
      for (const item of page.Items ?? []) {
        if (isStateItem(item)) samples = samplesOf(item);
        else {
          const record = fromItem(item);
          if (record) records.push(record);
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return { records, samples };
  }

  /** Upserts in batches of 25, retrying unprocessed items with backoff. */
  async putMany(records: readonly NodeRecord[], signal?: AbortSignal): Promise<void> {
    await this.writeAll(
      records.map((r) => ({ PutRequest: { Item: toItem(r) } })),
      signal,
    );
  }

  /**
   * The state item first, then the records. In that order because a count that passed the refresh's checks
   * is worth keeping even if the records then fail to be written, whereas records written without their
   * count would let the remembered peak fall too early.
   */
  async writeNodes(
    records: readonly NodeRecord[],
    samples: readonly CountSample[],
    nowMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.writeAll(
      [
        { PutRequest: { Item: stateItem(samples, nowMs) } },
        ...records.map((r) => ({ PutRequest: { Item: toItem(r) } })),
      ],
      signal,
    );
  }

  private async writeAll(requests: WriteRequest[], signal?: AbortSignal): Promise<void> {
    const maxAttempts = 8;
    for (let i = 0; i < requests.length; i += 25) {
      let pending = requests.slice(i, i + 25);
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > maxAttempts) {
          throw new Error(
            `DynamoDB left ${pending.length} node writes unprocessed after ${maxAttempts} attempts`,
          );
        }
        if (attempt > 1) await sleep(backoffDelay(attempt, 100, 2000), undefined, { signal });
        const out = await this.client.send(
          new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } }),
          { abortSignal: signal },
        );
        pending = out.UnprocessedItems?.[this.tableName] ?? [];
      }
    }
  }
}

export function toItem(r: NodeRecord): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    nodeId: { N: String(r.nodeId) },
    name: { S: r.name },
    updatedAt: { S: r.updatedAt },
    expiresAt: { N: String(r.expiresAt) },
  };
  if (r.asn !== undefined) item.asn = { N: String(r.asn) };
  const strings = ['city', 'region', 'country', 'countryCode', 'continent', 'isp', 'networkType'] as const;
  for (const key of strings) {
    const value = r[key];
    if (value) item[key] = { S: value };
  }
  return item;
}

/** The node record an item holds; undefined for the state item or anything without a node id. */
export function fromItem(item: Record<string, AttributeValue>): NodeRecord | undefined {
  const nodeId = Number(item.nodeId?.N);
  if (!Number.isSafeInteger(nodeId) || nodeId <= 0) return undefined;
  const s = (key: string): string | undefined => item[key]?.S || undefined;
  const asn = item.asn?.N === undefined ? undefined : Number(item.asn.N);
  return {
    nodeId,
    name: s('name') ?? '',
    asn: asn !== undefined && Number.isSafeInteger(asn) ? asn : undefined,
    city: s('city'),
    region: s('region'),
    country: s('country'),
    countryCode: s('countryCode'),
    continent: s('continent'),
    isp: s('isp'),
    networkType: s('networkType'),
    updatedAt: s('updatedAt') ?? '',
    expiresAt: Number(item.expiresAt?.N ?? 0),
  };
}

function isStateItem(item: Record<string, AttributeValue>): boolean {
  return item.nodeId?.N !== undefined && Number(item.nodeId.N) === REFRESH_STATE_KEY;
}

/**
 * The state item: `nodeCounts` lists the counts as `{seenAt: ISO-8601, count}`, readable (and editable) in
 * the console. It has no `expiresAt`, so DynamoDB's TTL never removes it; its counts age out by their dates.
 */
function stateItem(samples: readonly CountSample[], nowMs: number): Record<string, AttributeValue> {
  return {
    nodeId: { N: String(REFRESH_STATE_KEY) },
    item: { S: 'node refresh state' },
    updatedAt: { S: new Date(nowMs).toISOString() },
    nodeCounts: {
      L: samples.map((s) => ({
        M: { seenAt: { S: new Date(s.seenAtMs).toISOString() }, count: { N: String(s.count) } },
      })),
    },
  };
}

/** The counts of the state item; an entry that cannot be read is left out. */
function samplesOf(item: Record<string, AttributeValue>): CountSample[] {
  const samples: CountSample[] = [];
  for (const entry of item.nodeCounts?.L ?? []) {
    const seenAtMs = Date.parse(entry.M?.seenAt?.S ?? '');
    const count = Number(entry.M?.count?.N);
    if (Number.isFinite(seenAtMs) && Number.isSafeInteger(count) && count > 0)
      samples.push({ seenAtMs, count });
  }
  return samples;
}
