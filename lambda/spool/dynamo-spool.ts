import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import type { Datapoint } from '../opentsdb/datapoint.js';
import { serializeDatapoint } from '../opentsdb/datapoint.js';
import type { Spool } from '../push/push-service.js';

/** Spool entries older than this are dropped by DynamoDB's TTL. */
export const SPOOL_RETENTION_DAYS = 14;

/** Most entries one replay looks at (about 40 scan pages): a bigger backlog drains over several runs. */
export const SPOOL_SCAN_LIMIT = 20_000;

export interface SpoolEntryHead {
  runKey: string;
  spooledAtMs: number;
}

/**
 * Datapoints OpenTSDB could not take, one item per run (partition key `runKey` = test:node:timestamp), so a
 * Catchpoint retry of a spooled run overwrites nothing and stores nothing twice. Points are kept gzipped
 * in the exact JSON they are sent as.
 */
export class DynamoSpool implements Spool {
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  async save(runKey: string, points: readonly Datapoint[], nowMs: number, deadlineMs: number): Promise<void> {
    const body = gzipSync(`[${points.map(serializeDatapoint).join(',')}]`);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            runKey: { S: runKey },
            spooledAt: { N: String(nowMs) },
            points: { N: String(points.length) },
            body: { B: body },
            expiresAt: { N: String(Math.floor(nowMs / 1000) + SPOOL_RETENTION_DAYS * 86_400) },
          },
          ConditionExpression: 'attribute_not_exists(runKey)',
        }),
        // The push answers by its deadline whatever DynamoDB does: 503 if the item is not known to be kept.
        { abortSignal: AbortSignal.timeout(Math.max(1, deadlineMs - Date.now())) },
      );
    } catch (error) {
      // Already spooled by an earlier try of the same run: it is kept, which is all that was asked.
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }

  /**
   * Entries' keys and ages, oldest first: every entry, or the oldest of the first `limit` a scan finds. The
   * spool is small unless OpenTSDB was away for long; the limit keeps one replay's scan within its time.
   */
  async heads(limit = SPOOL_SCAN_LIMIT): Promise<SpoolEntryHead[]> {
    const heads: SpoolEntryHead[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ProjectionExpression: 'runKey, spooledAt',
          ExclusiveStartKey: startKey,
          Limit: Math.min(1000, limit - heads.length),
        }),
      );
      for (const item of page.Items ?? []) {
        const runKey = item.runKey?.S;
        if (runKey) heads.push({ runKey, spooledAtMs: Number(item.spooledAt?.N ?? 0) });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && heads.length < limit);
    return heads.sort((a, b) => a.spooledAtMs - b.spooledAtMs || a.runKey.localeCompare(b.runKey));
  }

  /** The points of one entry, or undefined when it is gone (replayed by another invocation). */
  async points(runKey: string): Promise<Datapoint[] | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { runKey: { S: runKey } }, ConsistentRead: true }),
    );
    const body = out.Item?.body?.B;
    if (!body) return undefined;
    return JSON.parse(gunzipSync(body).toString('utf8')) as Datapoint[];
  }

  async remove(runKey: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({ TableName: this.tableName, Key: { runKey: { S: runKey } } }),
    );
  }
}
