// The push endpoint: an HTTP API (POST /push, throttled, with access logs) in front of the push function,
// which runs in the VPC, reads the nodes table, writes to OpenTSDB and spools what OpenTSDB cannot take.
// It is the HttpApi itself, not a wrapper around one: the API, its stage and its route keep the logical ids
// they had as children of the stack, so an update keeps the API, whose URL Catchpoint is configured with.
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { DEFAULT_WRITE_BUDGET_MS, PUSH_TIMEOUT_SECONDS } from '../lambda/push/push-limits.js';
import type { SystemLogLevel } from './bridge-context.js';
import { BridgeFunction, type FunctionNetwork } from './bridge-function.js';

/**
 * Push answers within Catchpoint's 20 s and API Gateway's 30 s; the write itself gets WRITE_BUDGET_MS. Both
 * come from lambda/push/push-limits.ts, which the function and the local server also read.
 */
const PUSH_TIMEOUT = Duration.seconds(PUSH_TIMEOUT_SECONDS);

export interface PushApiProps {
  network: FunctionNetwork;
  nodesTable: dynamodb.ITable;
  spoolTable: dynamodb.ITable;
  openTsdbUrl: string;
  /** SHA-256 hex digests of the accepted push tokens. */
  pushTokenHashes: string[];
  /** Comma-separated METRIC_SETS; undefined keeps the function's default. */
  metricSets: string | undefined;
  metricNaming: string | undefined;
  /** false: OPENTSDB_SYNC=false, for an OpenTSDB that cannot confirm storage. */
  openTsdbSync: boolean;
  /** Stage throttle: steady requests per second, and the burst above it (both answered 429 beyond). */
  rateLimit: number;
  burstLimit: number;
  /** The push function's reserved concurrency; undefined (the default) reserves none (docs/capacity.md). */
  reservedConcurrency: number | undefined;
  /** WARN (the default) drops Lambda's START and REPORT lines: docs/cost.md. */
  systemLogLevel: SystemLogLevel;
  /** MB; docs/cost.md says why the default is what it is. */
  memorySize: number;
  logRetention: logs.RetentionDays;
}

export class PushApi extends apigwv2.HttpApi {
  readonly push: BridgeFunction;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PushApiProps) {
    super(scope, id, {
      description: 'Catchpoint Test Data Webhook receiver: POST /push?token=…',
      createDefaultStage: false,
    });

    this.push = new BridgeFunction(this, 'Function', {
      entry: 'push.ts',
      service: 'push',
      description: 'Catchpoint Test Data Webhook → OpenTSDB (spools what OpenTSDB cannot take)',
      timeout: PUSH_TIMEOUT,
      memorySize: props.memorySize,
      logRetention: props.logRetention,
      network: props.network,
      // None by default: the stage throttle and the circuit breaker bound its concurrency, and any reservation
      // fails the deploy on an account with a small quota. Opted into, it is push's share of the account (a
      // slow OpenTSDB cannot starve the rest) and its cap: pushes beyond it are throttled by Lambda, which
      // API Gateway answers 500 (Catchpoint retries; alarmed).
      reservedConcurrency: props.reservedConcurrency,
      systemLogLevel: props.systemLogLevel,
      environment: {
        OPENTSDB_URL: props.openTsdbUrl,
        PUSH_TOKEN_HASHES: props.pushTokenHashes.join(','),
        WRITE_BUDGET_MS: String(DEFAULT_WRITE_BUDGET_MS),
        ...(props.openTsdbSync ? {} : { OPENTSDB_SYNC: 'false' }),
        ...(props.metricSets ? { METRIC_SETS: props.metricSets } : {}),
        ...(props.metricNaming ? { METRIC_NAMING: props.metricNaming } : {}),
      },
    });
    this.push.bindTable(props.nodesTable, 'NODES_TABLE', ['Scan', 'GetItem']);
    // The spool writer only puts, conditionally (attribute_not_exists): a conditional put needs no read right.
    this.push.bindTable(props.spoolTable, 'SPOOL_TABLE', ['PutItem']);

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = this.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        // $context.path carries no query string, so the push token never reaches the access log.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            method: '$context.httpMethod',
            routeKey: '$context.routeKey',
            path: '$context.path',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            error: '$context.error.message',
          }),
        ),
      },
    });
    const [pushRoute] = this.addRoutes({
      path: '/push',
      methods: [apigwv2.HttpMethod.POST],
      integration: new HttpLambdaIntegration('PushIntegration', this.push.function, {
        payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      }),
    });
    if (pushRoute) {
      Validations.of(pushRoute).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          "Catchpoint's Test Data Webhook cannot sign requests or send custom headers: the push function " +
          'authenticates each request by the token in its query string, compared with SHA-256 digests ' +
          '(PUSH_TOKEN_HASHES), and answers 401 otherwise.',
      });
    }
  }

  /** The webhook URL without its ?token=…, which never enters the stack. */
  get pushUrl(): string {
    return `${this.stage.url}push`;
  }
}
