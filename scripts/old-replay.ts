// The drain benchmark's yardstick: the replay as it was before issue 9, on a table of its shape.
import { gunzipSync } from 'node:zlib';
import {
  type AttributeValue,
  CreateTableCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { tableActive } from '../dev/embedded-dynamo.js';
import type { Datapoint } from '../lambda/opentsdb/datapoint.js';
import type { DatapointSink } from '../lambda/opentsdb/writer.js';
import { encodePoints } from '../lambda/spool/spooled-run.js';

/** The replay as it was before issue 9, on a table of its shape, as the yardstick. Returns runs/s. */
export async function oldReplay(
  client: DynamoDBClient,
  runs: readonly { runKey: string; points: Datapoint[] }[],
  sink: DatapointSink,
): Promise<number> {
  const tableName = 'old-spool';
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'runKey', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'runKey', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await tableActive(client, tableName);
  const at = Date.now();
  for (const run of runs) {
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          runKey: { S: run.runKey },
          spooledAt: { N: String(at) },
          points: { N: String(run.points.length) },
          body: { B: encodePoints(run.points) },
        },
      }),
    );
  }
  const started = performance.now();
  const heads: { runKey: string; spooledAt: number }[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: 'runKey, spooledAt',
        ExclusiveStartKey: startKey,
        Limit: 1000,
      }),
    );
    for (const item of page.Items ?? [])
      heads.push({ runKey: item.runKey!.S!, spooledAt: Number(item.spooledAt!.N) });
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  heads.sort((a, b) => a.spooledAt - b.spooledAt);
  for (const head of heads) {
    const key = { runKey: { S: head.runKey } };
    const got = await client.send(
      new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
    );
    const points = JSON.parse(gunzipSync(got.Item!.body!.B!).toString('utf8')) as Datapoint[];
    const outcome = await sink.write(points, Date.now() + 10_000);
    if (outcome.pending.length > 0) throw new Error(`yardstick write failed: ${outcome.lastError}`);
    await client.send(new DeleteItemCommand({ TableName: tableName, Key: key }));
  }
  return heads.length / ((performance.now() - started) / 1000);
}
