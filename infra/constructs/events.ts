import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { EventBus, Match } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '../../shared/domain/contracts.ts';
import { REPROCESS_REQUESTED } from '../../shared/domain/reprocess.ts';
import { FILE_PROGRESS } from '../../shared/domain/video-workflow.ts';

/**
 * The custom bus of the public `file.*` events (source `syncflow.files`). Users attach their own
 * rules to it; an archive keeps what happened to files for the stage's `eventArchiveDays` so it
 * can be replayed. Reprocess requests are work orders, not facts: they stay out of the archive,
 * so a replay never runs work again.
 */
export class FileEvents extends Construct {
  readonly bus: EventBus;

  constructor(
    scope: Construct,
    id: string,
    props: { readonly retainData: boolean /** 0 for none. */; readonly archiveDays: number },
  ) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', { description: 'SyncFlow file.* events' });
    // The bus's name is fixed at synth (from its path), so a bus kept by a rolled-back first
    // deploy would make the retry fail with "already exists": kept on update and delete only.
    this.bus.applyRemovalPolicy(
      props.retainData ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
    );
    if (props.archiveDays > 0) {
      this.bus.archive('Archive', {
        description: 'file.* events kept for replay',
        // Outcomes only: a replay must neither run work again (a reprocess request) nor show
        // finished files as running (file.processing).
        eventPattern: {
          source: [EVENT_SOURCE],
          // Work orders would run work again on a replay; a run's start and its progress are
          // stale the moment they are read.
          detailType: Match.anythingBut(REPROCESS_REQUESTED, 'file.processing', FILE_PROGRESS),
        },
        retention: Duration.days(props.archiveDays),
      });
    }
  }
}
