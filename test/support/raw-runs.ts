// Runs for backfill tests, each made both ways: as the raw endpoint serves it (StandInRun) and as its
// webhook push (Catchpoint's default JSON, version 4), so the two paths can be compared point for point.
import type { StandInRun } from './catchpoint-stand-in.js';

/** The raw metric names the stand-in serves: 2022 spellings, a 2015 one, and names no rule maps. */
export const RAW_METRICS = [
  'Webpage Response (ms)',
  'Response (ms)',
  'Dns (ms)',
  'Connect (ms)',
  'SSL (ms)',
  'Wait (ms)',
  'Load (ms)',
  'Document Complete (ms)',
  'Render Start (ms)',
  'DOM Load (ms)',
  '#Connections',
  '# Hosts',
  '#Failed Requests',
  'Speed Index',
  'Apdex',
  '% Ping Packet Loss',
  'Ping Round Trip (ms)',
  '% Availability',
  '# DNS Failures',
  '# Timeout Failures',
] as const;

export interface RunSpec {
  testId: number;
  nodeId: number;
  nodeName: string;
  asn: number;
  /** UTC, whole seconds; the push adds milliseconds (`ms`) which both paths drop. */
  at: string;
  ms?: number;
  /** ms. */
  total?: number;
  dns?: number | null;
  connect?: number;
  ssl?: number;
  wait?: number;
  load?: number;
  documentComplete?: number;
  renderStart?: number;
  domLoad?: number;
  webpageResponse?: number;
  connections?: number;
  hosts?: number;
  failedRequests?: number;
  speedIndex?: number;
  packetLoss?: number;
  roundTrip?: number;
  /** Failed with this flag raised (`dns` or `timeout`). */
  failure?: 'dns' | 'timeout';
  pushFailed?: boolean;
}

/** The run as `/api/v2/tests/explorer/raw` serves it. */
export function rawRun(spec: RunSpec): StandInRun {
  const values: Record<string, number | null> = {
    'Webpage Response (ms)': spec.webpageResponse ?? null,
    'Response (ms)': spec.total ?? null,
    'Dns (ms)': spec.dns ?? null,
    'Connect (ms)': spec.connect ?? null,
    'SSL (ms)': spec.ssl ?? null,
    'Wait (ms)': spec.wait ?? null,
    'Load (ms)': spec.load ?? null,
    'Document Complete (ms)': spec.documentComplete ?? null,
    'Render Start (ms)': spec.renderStart ?? null,
    'DOM Load (ms)': spec.domLoad ?? null,
    '#Connections': spec.connections ?? null,
    '# Hosts': spec.hosts ?? null,
    '#Failed Requests': spec.failedRequests ?? null,
    'Speed Index': spec.speedIndex ?? null,
    Apdex: null,
    '% Ping Packet Loss': spec.packetLoss ?? null,
    'Ping Round Trip (ms)': spec.roundTrip ?? null,
    '% Availability': spec.failure ? 0 : 100,
    '# DNS Failures': spec.failure === 'dns' ? 1 : 0,
    '# Timeout Failures': spec.failure === 'timeout' ? 1 : 0,
  };
  const run: StandInRun = {
    testId: spec.testId,
    nodeId: spec.nodeId,
    nodeName: spec.nodeName,
    dateTime: `${spec.at.replace(/Z$/, '')}.${String(spec.ms ?? 0).padStart(3, '0')}`,
    values,
    failed: spec.failure !== undefined,
  };
  if (spec.pushFailed) run.pushFailed = true;
  return run;
}

/** The same run as its webhook push body (default JSON, version 4). */
export function pushBody(spec: RunSpec): string {
  const stamp = `${spec.at.replace(/[-T:Z]/g, '')}${String(spec.ms ?? 0).padStart(3, '0')}`;
  const timing: Record<string, number> = {};
  const put = (key: string, value: number | null | undefined) => {
    if (typeof value === 'number') timing[key] = value;
  };
  put('Total', spec.total);
  put('Dns', spec.dns);
  put('Connect', spec.connect);
  put('Ssl', spec.ssl);
  put('Wait', spec.wait);
  put('Load', spec.load);
  put('DocumentComplete', spec.documentComplete);
  put('RenderStart', spec.renderStart);
  put('DomLoad', spec.domLoad);
  put('WebpageResponse', spec.webpageResponse);
  const counter: Record<string, number> = {};
  if (spec.connections !== undefined) counter.Connections = spec.connections;
  if (spec.hosts !== undefined) counter.Hosts = spec.hosts;
  if (spec.failedRequests !== undefined) counter.FailedRequests = spec.failedRequests;
  const summary: Record<string, unknown> = { V: 1, Timestamp: stamp, Timing: timing, Counter: counter };
  if (spec.speedIndex !== undefined) summary.Score = { SpeedIndex: spec.speedIndex };
  if (spec.packetLoss !== undefined || spec.roundTrip !== undefined)
    summary.Ping = { PacketLossPct: spec.packetLoss, RoundTripTimeAvg: spec.roundTrip };
  if (spec.failure) summary.Error = { Any: 1, [spec.failure === 'dns' ? 'Dns' : 'Timeout']: 1 };
  return JSON.stringify({
    Version: 4,
    V: 5,
    TestDetail: {
      Name: `Test ${spec.testId}`,
      TypeId: spec.packetLoss === undefined ? 0 : 6,
      MonitorTypeId: 18,
    },
    TestId: spec.testId,
    NodeId: spec.nodeId,
    NodeName: spec.nodeName,
    Asn: spec.asn,
    TestRuntime: stamp,
    Summary: summary,
  });
}

/** The fixture node list's nodes (test/fixtures/nodes/v1-items.json). */
export const KNOWN_NODES = [
  { nodeId: 77, nodeName: 'Osaka, JP - KDDI', asn: 2516 },
  { nodeId: 79, nodeName: 'São Paulo, BR - Claro', asn: 28573 },
  { nodeId: 81, nodeName: 'Frankfurt, DE - AWS', asn: 16509 },
] as const;
