import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { boundedDynamoClient } from '../lambda/aws/dynamo-client.js';
import type { Env } from '../lambda/config.js';

/** An in-memory DynamoDB (dynalite) on loopback, for `npm start` and the tests. It has no TTL. */
export interface EmbeddedDynamo {
  endpoint: string;
  /** The process serving it, when it has one of its own (startDynaliteProcess). */
  pid?: number;
  client: DynamoDBClient;
  close(): Promise<void>;
}

export async function startEmbeddedDynamo(): Promise<EmbeddedDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localDynamoClient(endpoint);
  return {
    endpoint,
    client,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The same in-memory DynamoDB in a child process of its own, so that its CPU is not counted as the
 * caller's (the drain benchmark measures the replay's own CPU, which is what Lambda bills).
 */
export async function startDynaliteProcess(): Promise<EmbeddedDynamo> {
  const script = `
    const server = require('dynalite')({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
  `;
  const child = spawn(process.execPath, ['-e', script], {
    cwd: join(dirname(fileURLToPath(import.meta.url)), '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`dynalite exited with ${code}`)));
    child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localDynamoClient(endpoint);
  return {
    endpoint,
    pid: child.pid,
    client,
    close: async () => {
      client.destroy();
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export function localDynamoClient(endpoint: string, requestTimeoutMs = 2000): DynamoDBClient {
  return boundedDynamoClient(requestTimeoutMs, {
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** The nodes table as the stack defines it: partition key `nodeId` (number). */
export async function createNodesTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'nodeId', AttributeType: 'N' }],
      KeySchema: [{ AttributeName: 'nodeId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/**
 * The spool table as the stack defines it: partition key `shard`, sort key `entry`, both strings
 * (lambda/spool/spool-keys.ts).
 */
export async function createSpoolTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: 'shard', AttributeType: 'S' },
        { AttributeName: 'entry', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'shard', KeyType: 'HASH' },
        { AttributeName: 'entry', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await tableActive(client, tableName);
}

/** Even with createTableMs 0, dynalite answers "not found" until its timer has made the table ACTIVE. */
export async function tableActive(client: DynamoDBClient, tableName: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (out.Table?.TableStatus === 'ACTIVE') return;
    await sleep(10);
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
}

/**
 * Where `npm start` says how to reach its embedded DynamoDB, for `npm run spool -- --local`
 * (`.local/dynamodb.json` in the repository, gitignored; LOCAL_DYNAMODB_FILE overrides it).
 */
export function localDynamoFile(env: Env = process.env): string {
  return (
    env.LOCAL_DYNAMODB_FILE?.trim() ||
    join(dirname(fileURLToPath(import.meta.url)), '..', '.local', 'dynamodb.json')
  );
}

/** What the file holds. */
export interface LocalDynamoInfo {
  endpoint: string;
  spoolTable: string;
  nodesTable: string;
  /** The `npm start` process, so that a stale file can be told from a live one. */
  pid: number;
}

export function writeLocalDynamoFile(path: string, info: LocalDynamoInfo): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(info, null, 2)}\n`);
}

/** Removes the file if it is still this process's (another `npm start` may have taken over since). */
export function removeLocalDynamoFile(path: string): void {
  if (readLocalDynamoFile(path)?.pid === process.pid) rmSync(path, { force: true });
}

/** The file's content; undefined when it is missing or not what `npm start` writes. */
export function readLocalDynamoFile(path: string): LocalDynamoInfo | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const info = parsed as Partial<LocalDynamoInfo>;
  if (typeof info.endpoint !== 'string' || typeof info.spoolTable !== 'string') return undefined;
  return {
    endpoint: info.endpoint,
    spoolTable: info.spoolTable,
    nodesTable: typeof info.nodesTable === 'string' ? info.nodesTable : '',
    pid: typeof info.pid === 'number' ? info.pid : 0,
  };
}
