import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { SyncFlowStack } from '../../infra/stack.ts';
import { type StageConfig, stageConfig } from '../../infra/stages.ts';
import { alarmMetrics, idleLines } from '../../scripts/lib/cost-model.ts';

/** The stage's template, without bundling (the model counts resources, not code). */
const template = (stage: StageConfig) => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(new SyncFlowStack(app, `SyncFlow-${stage.name}`, { stage }));
};

/** What the idle stage's lines say it pays for, held to what the stack creates. */
describe('the cost model counts what the stack creates', () => {
  for (const name of ['prod', 'dev']) {
    const stage = stageConfig(name);
    let synthesised: Template | undefined;
    const resources = (type: string) => {
      synthesised ??= template(stage);
      return Object.values(synthesised.findResources(type));
    };

    it(`${name}: alarm metrics, secrets, dashboards, polled queues and schedules`, () => {
      const alarms = resources('AWS::CloudWatch::Alarm');
      const metrics = alarms.reduce(
        (total, alarm) =>
          total +
          (alarm.Properties.Metrics
            ? alarm.Properties.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat).length
            : 1),
        0,
      );
      expect(metrics).toBe(alarmMetrics(stage));

      const idle = idleLines(stage);
      const quantity = (item: RegExp) => idle.find((l) => item.test(l.item))?.quantity;
      expect(resources('AWS::SecretsManager::Secret')).toHaveLength(quantity(/^secrets/) ?? -1);
      expect(resources('AWS::CloudWatch::Dashboard')).toHaveLength(quantity(/^dashboard/) ?? -1);

      // Lambda polls every queue with an event source mapping, even an empty one.
      const mappings = resources('AWS::Lambda::EventSourceMapping');
      const polls = quantity(/^empty long polls/) ?? -1;
      expect(polls / (5 * 3 * 730 * 60)).toBe(mappings.length);

      // Two schedules at the sweeper's rate: the sweeper and the expired connections.
      const schedules = resources('AWS::Events::Rule').filter(
        (r) => r.Properties.ScheduleExpression,
      );
      expect(schedules.map((r) => r.Properties.ScheduleExpression)).toEqual([
        `rate(${stage.sweepEveryMinutes} minutes)`,
        `rate(${stage.sweepEveryMinutes} minutes)`,
      ]);
      expect(quantity(/^sweeper and expired connections.*: requests$/)).toBe(
        (2 * 730 * 60) / stage.sweepEveryMinutes,
      );

      // No NAT gateway, no interface endpoint, no customer key: nothing else bills by the hour.
      expect(resources('AWS::EC2::NatGateway')).toHaveLength(0);
      expect(resources('AWS::EC2::VPCEndpoint')).toHaveLength(0);
      expect(resources('AWS::KMS::Key')).toHaveLength(0);
    });
  }
});
