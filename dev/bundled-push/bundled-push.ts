// Runs a bundled push function (the synthesized asset, or one built with the stack's esbuild settings) the
// way the Lambda runtime does: in a process of its own, imported as ESM with the function's environment,
// invoked with an API Gateway event and a context. The parent process is its caller and hosts the servers
// it talks to, so the child's CPU time and stdout are the function's own (figures in scripts/bench.ts, the
// log-size test in test/infra).
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

const DRIVER = fileURLToPath(new URL('./driver.mjs', import.meta.url));

export interface BundledPushOptions {
  /** The bundle's index.mjs. */
  bundleFile: string;
  /** The function's variables as the stack sets them; the runtime's own are added (see below). */
  environment: Record<string, string>;
  memoryMb?: number;
  /** Node binary; the parent's by default. */
  execPath?: string;
  /** Node options of the function's process, e.g. `--cpu-prof`. */
  execArgv?: string[];
}

export interface PushRun {
  statuses: number[];
  /** CPU time (user + system) of each invocation, µs. */
  cpuUs: number[];
  /** Bytes each invocation wrote to stdout and stderr: what reaches CloudWatch Logs from the function. */
  logBytes: number[];
  /** What the last invocation wrote. */
  lastLog: string;
}

export interface BundledPush {
  /** Invokes the handler `times` times in a row with this event (a fresh request id each time). */
  push(event: APIGatewayProxyEventV2, times: number): Promise<PushRun>;
  /**
   * The yardstick, in the same process: parse `pushBody`, serialise the datapoints of `pointsBody` (a JSON
   * array, parsed once beforehand) and POST them to `url` with one keep-alive `http.request`, `times` times;
   * CPU µs of each.
   */
  forward(pushBody: string, url: string, pointsBody: string, times: number): Promise<{ cpuUs: number[] }>;
  /**
   * Alternates one push and one forward (as `forward`), `times` times: the fairest comparison, since both
   * meet the same state of the machine and of its caches.
   */
  compare(
    event: APIGatewayProxyEventV2,
    forward: { pushBody: string; url: string; pointsBody: string },
    times: number,
  ): Promise<PushRun & { forwardUs: number[] }>;
  /** The process's peak resident memory so far (what Lambda reports as Max Memory Used), and its Node. */
  memory(): Promise<{ peakMb: number; node: string }>;
  close(): Promise<void>;
}

type Reply = { ok: true; ready?: true; maxRssKb?: number; node?: string } & Partial<PushRun> & {
    cpuUs?: number[];
    forwardUs?: number[];
  };

export async function startBundledPush(options: BundledPushOptions): Promise<BundledPush> {
  const memoryMb = options.memoryMb ?? 256;
  const child: ChildProcess = fork(DRIVER, [], {
    execPath: options.execPath ?? process.execPath,
    execArgv: options.execArgv ?? [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: {
      PATH: process.env.PATH ?? '',
      // What Lambda sets for every function (the subset the code reads), then the function's own variables.
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_LAMBDA_FUNCTION_NAME: 'CatchpointBridge-PushApiFunction',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_FORMAT: 'JSON',
      AWS_LAMBDA_LOG_LEVEL: 'INFO',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...options.environment,
      BUNDLED_PUSH_FILE: options.bundleFile,
    },
  });
  // The function's output is counted in the child; here it only has to be drained.
  child.stdout?.resume();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });

  const next = (): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const onMessage = (message: Reply | { ok: false; error: string }) => {
        cleanup();
        if (message.ok) resolve(message);
        else reject(new Error(`bundled push: ${message.error}`));
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`bundled push exited with ${code}: ${stderr.trim()}`));
      };
      const cleanup = () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
    });

  await next();
  return {
    async push(event, times) {
      const reply = next();
      child.send({ kind: 'push', event, times });
      const { statuses = [], cpuUs = [], logBytes = [], lastLog = '' } = await reply;
      return { statuses, cpuUs, logBytes, lastLog };
    },
    async forward(pushBody, url, pointsBody, times) {
      const reply = next();
      child.send({ kind: 'forward', pushBody, url, pointsBody, times });
      return { cpuUs: (await reply).cpuUs ?? [] };
    },
    async compare(event, forward, times) {
      const reply = next();
      child.send({ kind: 'compare', event, times, ...forward });
      const { statuses = [], cpuUs = [], logBytes = [], lastLog = '', forwardUs = [] } = await reply;
      return { statuses, cpuUs, logBytes, lastLog, forwardUs };
    },
    async memory() {
      const reply = next();
      child.send({ kind: 'memory' });
      const { maxRssKb = 0, node = '' } = await reply;
      return { peakMb: maxRssKb / 1024, node };
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill(), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.send({ kind: 'exit' });
      }),
  };
}

/** The event API Gateway's HTTP API (payload 2.0) hands the push function for a JSON push. */
export function httpApiPushEvent(body: string, token: string): APIGatewayProxyEventV2 {
  const now = new Date();
  return {
    version: '2.0',
    routeKey: 'POST /push',
    rawPath: '/push',
    rawQueryString: `token=${token}`,
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      host: 'abc123.execute-api.eu-west-1.amazonaws.com',
      'user-agent': 'Catchpoint',
    },
    queryStringParameters: { token },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: 'POST',
        path: '/push',
        protocol: 'HTTP/1.1',
        sourceIp: '192.0.2.1',
        userAgent: 'Catchpoint',
      },
      requestId: 'set-per-invocation',
      routeKey: 'POST /push',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    // API Gateway passes a JSON body as text.
    body,
    isBase64Encoded: false,
  };
}
