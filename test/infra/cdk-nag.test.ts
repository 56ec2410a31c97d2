import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { synthBridge } from './synth-bridge.js';

const { app } = synthBridge();

/** Every acknowledgement in the construct tree: `path rule` → reason. */
function acknowledgements(root: IConstruct): Map<string, string> {
  const found = new Map<string, string>();
  const visit = (construct: IConstruct): void => {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [rule, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.set(`${construct.node.path} ${rule.replace(/^annotation::/i, '')}`, reason);
      }
    }
    for (const child of construct.node.children) visit(child);
  };
  visit(root);
  return found;
}

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged finding', () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}: ${v.description}`),
    );
    assert.deepEqual(findings, []);
    assert.equal(report.success, true);
  });

  it('acknowledges exactly these findings, each with a reason (review any change to this list)', () => {
    const acks = acknowledgements(app);
    assert.deepEqual(
      [...acks.keys()].filter((k) => k.includes(' AwsSolutions-')).sort(),
      [
        'CatchpointBridge/Network/DynamoDbPrefixList/Lookup AwsSolutions-IAM5[Resource::*]',
        'CatchpointBridge/PushApi/Function/Role AwsSolutions-IAM5[Resource::*]',
        'CatchpointBridge/PushApi/POST--push AwsSolutions-APIG4',
        'CatchpointBridge/SpoolReplay/Function/Role AwsSolutions-IAM5[Resource::*]',
      ].sort(),
    );
    for (const [what, reason] of acks) assert.ok(reason.length >= 60, `${what}: "${reason}" is no reason`);
  });

  it('acknowledges only findings that exist: without the acknowledgements, exactly those are reported', () => {
    const checks = new AwsSolutionsChecks();
    // What the pack reports when it ignores every acknowledgement.
    (checks as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
    const raw = checks
      .validateScope(app)
      .violations.flatMap((v) => v.violatingResources.map((r) => `${r.constructPath} ${v.ruleName}`));
    const acknowledged = [...acknowledgements(app).keys()].filter((k) => k.includes(' AwsSolutions-'));
    // A finding on a resource is acknowledged on that resource or on one of its ancestors.
    for (const finding of raw) {
      assert.ok(
        acknowledged.some((ack) => {
          const [path, rule] = ack.split(' ');
          return finding.endsWith(` ${rule}`) && finding.startsWith(`${path}/`);
        }),
        `${finding} is not acknowledged`,
      );
    }
    for (const ack of acknowledged) {
      const [path, rule] = ack.split(' ');
      assert.ok(
        raw.some((f) => f.endsWith(` ${rule}`) && f.startsWith(`${path}/`)),
        `${ack} acknowledges nothing`,
      );
    }
  });

  it('is live: it does flag a resource that breaks its rules', () => {
    const probe = new App();
    new sqs.Queue(new Stack(probe, 'Probe'), 'Plain');
    const rules = new AwsSolutionsChecks().validateScope(probe).violations.map((v) => v.ruleName);
    assert.ok(rules.includes('AwsSolutions-SQS4'), rules.join(', '));
  });
});
