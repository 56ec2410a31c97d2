/**
 * An SSM Parameter Store stand-in for tests: the `GetParameter` action of the AWS JSON 1.1 protocol
 * (`POST /`, `X-Amz-Target: AmazonSSM.GetParameter`) on 127.0.0.1. Point an SSMClient at it with
 * `endpoint: standIn.url`. A SecureString is only returned in clear with `WithDecryption: true`, as AWS does.
 */
import { createServer, type ServerResponse } from 'node:http';
import { buffer } from 'node:stream/consumers';
import { SSMClient } from '@aws-sdk/client-ssm';
import { closeNow, listenOnLoopback } from '../../dev/loopback.js';

export interface SsmParameter {
  value: string;
  type?: 'String' | 'SecureString';
}

export interface SsmRequest {
  target: string;
  body: Record<string, unknown>;
}

export interface SsmStandIn {
  url: string;
  parameters: Map<string, SsmParameter>;
  requests: SsmRequest[];
  /** While true, requests are accepted and never answered: an SSM that hangs. */
  silent: boolean;
  /** A client for this stand-in, with dummy credentials and no retries. */
  client(): SSMClient;
  close(): Promise<void>;
}

export async function startSsmStandIn(parameters: Record<string, SsmParameter> = {}): Promise<SsmStandIn> {
  const store = new Map(Object.entries(parameters));
  const requests: SsmRequest[] = [];
  const clients: SSMClient[] = [];

  const error = (res: ServerResponse, status: number, type: string, message: string): void => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type });
    res.end(JSON.stringify({ __type: type, message }));
  };

  let silent = false;
  const server = createServer((req, res) => {
    // A request aborted before its body ended gets no answer.
    buffer(req).then(
      (raw) => {
        if (silent) return;
        const target = String(req.headers['x-amz-target'] ?? '');
        let body: Record<string, unknown> = {};
        try {
          const parsed: unknown = JSON.parse(raw.toString('utf8') || '{}');
          if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
        } catch {
          return error(res, 400, 'SerializationException', 'body is not JSON');
        }
        requests.push({ target, body });
        if (req.method !== 'POST' || target !== 'AmazonSSM.GetParameter') {
          return error(res, 400, 'UnknownOperationException', `stand-in does not implement ${target}`);
        }
        const name = typeof body.Name === 'string' ? body.Name : '';
        const parameter = store.get(name);
        if (parameter === undefined)
          return error(res, 400, 'ParameterNotFound', `Parameter ${name} not found.`);
        const type = parameter.type ?? 'SecureString';
        const clear = type !== 'SecureString' || body.WithDecryption === true;
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(
          JSON.stringify({
            Parameter: {
              Name: name,
              Type: type,
              Value: clear
                ? parameter.value
                : `AQICAHi${Buffer.from(parameter.value).toString('base64').slice(0, 16)}`,
              Version: 1,
              LastModifiedDate: 1_700_000_000,
              ARN: `arn:aws:ssm:eu-west-1:123456789012:parameter${name.startsWith('/') ? '' : '/'}${name}`,
              DataType: 'text',
            },
          }),
        );
      },
      () => {},
    );
  });
  const url = await listenOnLoopback(server);
  return {
    url,
    parameters: store,
    requests,
    get silent() {
      return silent;
    },
    set silent(value: boolean) {
      silent = value;
    },
    client: () => {
      const client = new SSMClient({
        endpoint: url,
        region: 'eu-west-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        maxAttempts: 1,
      });
      clients.push(client);
      return client;
    },
    close: async () => {
      for (const client of clients) client.destroy();
      await closeNow(server);
    },
  };
}
