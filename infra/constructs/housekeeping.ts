import { Duration } from 'aws-cdk-lib';
import { type IEventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ANALYTICS_PREFIX, DERIVED_PREFIX, UPLOAD_PREFIX } from '../../shared/domain/keys.ts';
import { type PipelineTiming, timingEnvironment } from '../../shared/domain/lifecycle.ts';
import { type FunctionDefaults, SyncFlowFunction } from './base-function.ts';
import type { Metadata } from './metadata.ts';

export interface HousekeepingProps {
  readonly bucket: IBucket;
  /** Where `file.failed` and `file.deleted` of swept files are published. */
  readonly bus: IEventBus;
  readonly metadata: Metadata;
  readonly functions: FunctionDefaults;
  /** The pipeline's clock, from which every "stuck" threshold is derived (lifecycle.ts). */
  readonly timing: PipelineTiming;
  /** How often the sweeper runs (1–60). */
  readonly everyMinutes: number;
}

/**
 * Every file ends: a scheduled sweeper (functions/sweeper.ts) ends runs cut short by a timeout
 * or by running out of memory (the processor never got to record it), files whose queued work
 * was lost, upload URLs that expired unused (EXPIRED), and deletions a request left half done.
 * It reads `uploads/` (did the file arrive?) and deletes under `uploads/` and `derived/`
 * (finishing a deletion), writes as the database's writing role, and publishes on the bus.
 */
export class Housekeeping extends Construct {
  readonly sweeper: SyncFlowFunction;
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: HousekeepingProps) {
    super(scope, id);
    if (
      !Number.isInteger(props.everyMinutes) ||
      props.everyMinutes < 1 ||
      props.everyMinutes > 60
    ) {
      throw new Error(`The sweeper runs every 1 to 60 minutes, not ${props.everyMinutes}`);
    }
    this.sweeper = new SyncFlowFunction(this, 'Sweeper', {
      ...props.functions,
      entry: 'sweeper',
      serviceName: 'sweeper',
      timeout: Duration.minutes(2),
      environment: {
        ...props.metadata.environmentFor('write'),
        ...timingEnvironment(props.timing),
        EVENT_BUS_NAME: props.bus.eventBusName,
      },
    });
    for (const prefix of [UPLOAD_PREFIX, DERIVED_PREFIX]) {
      props.bucket.grantRead(this.sweeper, `${prefix}*`);
      props.bucket.grantDelete(this.sweeper, `${prefix}*`);
    }
    // A deletion it finishes removes the file's rows under analytics/ too.
    props.bucket.grantDelete(this.sweeper, `${ANALYTICS_PREFIX}*`);
    props.bus.grantPutEventsTo(this.sweeper);
    props.metadata.grantDataAccess(this.sweeper, 'write');
    this.schedule = new Rule(this, 'Schedule', {
      description: 'Ends files that stopped moving',
      schedule: Schedule.rate(Duration.minutes(props.everyMinutes)),
      // A run that failed is not retried: the next one comes soon and does the same work.
      targets: [new LambdaFunction(this.sweeper, { retryAttempts: 0 })],
    });
  }
}
