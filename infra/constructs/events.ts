import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';

/**
 * The custom bus of the public `file.*` events (source `syncflow.files`). Users attach their own
 * rules to it; an archive keeps a week of events so they can be replayed.
 */
export class FileEvents extends Construct {
  readonly bus: EventBus;

  constructor(scope: Construct, id: string, props: { readonly retainData: boolean }) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', { description: 'SyncFlow file.* events' });
    this.bus.applyRemovalPolicy(props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);
    this.bus.archive('Archive', {
      description: 'A week of file.* events, for replay',
      eventPattern: { source: ['syncflow.files'] },
      retention: Duration.days(7),
    });
  }
}
