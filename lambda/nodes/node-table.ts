import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  ScanCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { backoffDelay, sleep } from '../shared/backoff.js';
import type { NodeRecord } from './node-record.js';

/** The DynamoDB nodes table: partition key `nodeId` (number). All DynamoDB code for nodes lives here. */
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

  async scanAll(): Promise<NodeRecord[]> {
    const records: NodeRecord[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: startKey }),
      );
      for (const item of page.Items ?? []) {
        const record = fromItem(item);
        if (record) records.push(record);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return records;
  }

  /** Upserts in batches of 25, retrying unprocessed items with backoff. */
  async putMany(records: readonly NodeRecord[], maxAttempts = 8): Promise<void> {
    for (let i = 0; i < records.length; i += 25) {
      let pending: WriteRequest[] = records
        .slice(i, i + 25)
        .map((r) => ({ PutRequest: { Item: toItem(r) } }));
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > maxAttempts) {
          throw new Error(
            `DynamoDB left ${pending.length} node writes unprocessed after ${maxAttempts} attempts`,
          );
        }
        if (attempt > 1) await sleep(backoffDelay(attempt, 100, 2000));
        const out = await this.client.send(
          new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } }),
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

export function fromItem(item: Record<string, AttributeValue>): NodeRecord | undefined {
  const nodeId = Number(item.nodeId?.N);
  if (!Number.isSafeInteger(nodeId)) return undefined;
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
