// Child side of dev/bundled-push/bundled-push.ts: imports a bundled push function as the Lambda runtime
// would and runs what the parent asks over IPC. Plain JavaScript, so nothing but the bundle (and this
// small loop) runs in the process: its CPU time and its stdout are the function's own.
// Every byte written to stdout/stderr is counted (and still written) so each call reports the log bytes
// it caused; nothing here writes to stdout itself.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { pathToFileURL } from 'node:url';

let outBytes = 0;
let outText = '';
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream);
  stream.write = (chunk, ...rest) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    outBytes += Buffer.byteLength(text);
    outText += text;
    return write(chunk, ...rest);
  };
}

const cpu = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

const { handler } = await import(pathToFileURL(process.env.BUNDLED_PUSH_FILE).href);
const forwardAgent = new http.Agent({ keepAlive: true });

/** What the Lambda runtime hands a warm invocation: plenty of time left. */
function context() {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
    logStreamName: '2026/12/01/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => 14_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/**
 * The yardstick: what any forwarder must at least do for one push: parse it, serialise its datapoints
 * (JSON.stringify of the same points, as plain objects) and POST them with one keep-alive http.request.
 */
function forwardOnce(pushBody, url, points) {
  JSON.parse(pushBody);
  const pointsBody = JSON.stringify(points);
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent: forwardAgent,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(pointsBody) },
      },
      (response) => {
        response.resume();
        response.on('end', resolve);
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(pointsBody);
  });
}

let counter = 0;

/** One invocation, as the runtime makes it: its CPU time, answer and what it wrote. */
async function invokeOnce(baseEvent) {
  // API Gateway's HTTP API request ids look like "JKJaXmPLvHcESHA=" (the Lambda's own is a UUID).
  const requestId = `JKJaXmPL${String(++counter).padStart(7, '0')}=`;
  const event = { ...baseEvent, requestContext: { ...baseEvent.requestContext, requestId } };
  outBytes = 0;
  outText = '';
  const c0 = cpu();
  const answer = await handler(event, context());
  const cpuUs = cpu() - c0;
  // Powertools and EMF lines go out synchronously before the handler resolves.
  return { cpuUs, status: answer.statusCode, logBytes: outBytes, log: outText };
}

async function forwardTimed(message, points) {
  const c0 = cpu();
  await forwardOnce(message.pushBody, message.url, points);
  return cpu() - c0;
}

process.on('message', async (message) => {
  // A clean exit, so that --cpu-prof writes its profile.
  if (message.kind === 'exit') process.exit(0);
  if (message.kind === 'memory') {
    // What Lambda's REPORT line calls "Max Memory Used": the process's peak resident set.
    process.send({ ok: true, maxRssKb: process.resourceUsage().maxRSS, node: process.version });
    return;
  }
  try {
    if (message.kind === 'push' || message.kind === 'compare') {
      // `compare` alternates a push and a forward, so that both meet the same state of the machine.
      const points = message.kind === 'compare' ? JSON.parse(message.pointsBody) : undefined;
      const statuses = [];
      const cpuUs = [];
      const logBytes = [];
      const forwardUs = [];
      let lastLog = '';
      for (let i = 0; i < message.times; i++) {
        const run = await invokeOnce(message.event);
        cpuUs.push(run.cpuUs);
        statuses.push(run.status);
        logBytes.push(run.logBytes);
        lastLog = run.log;
        if (points) forwardUs.push(await forwardTimed(message, points));
      }
      process.send({ ok: true, statuses, cpuUs, logBytes, lastLog, forwardUs });
    } else if (message.kind === 'forward') {
      const points = JSON.parse(message.pointsBody);
      const cpuUs = [];
      for (let i = 0; i < message.times; i++) cpuUs.push(await forwardTimed(message, points));
      process.send({ ok: true, cpuUs });
    }
  } catch (error) {
    process.send({ ok: false, error: String(error?.stack ?? error) });
  }
});
process.send({ ok: true, ready: true });
