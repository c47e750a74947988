import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { eventBridgeClient, s3Client } from '#shared/adapters/clients.ts';
import { databaseDeadline, invocationTimeLeft } from '#shared/adapters/db/deadline.ts';
import { fileRepository } from '#shared/adapters/db/instance.ts';
import { requireEnv } from '#shared/adapters/env.ts';
import { FileEventPublisher } from '#shared/adapters/event-publisher.ts';
import { ObjectStore } from '#shared/adapters/object-store.ts';
import { timingFromEnvironment } from '#shared/domain/lifecycle.ts';
import { logger, MetricName, metrics, tracer } from '#shared/observability/powertools.ts';
import { type SweepResult, sweep } from '#shared/processing/sweep.ts';

const TIMING = timingFromEnvironment();
const store = new ObjectStore(s3Client());
const events = new FileEventPublisher(eventBridgeClient(), requireEnv('EVENT_BUS_NAME'));
// Opened during init (a failure fails the cold start), so no run waits for the driver.
const repository = await fileRepository();

/**
 * Runs on a schedule (infra/constructs/housekeeping.ts): ends the files that stopped moving
 * (shared/processing/sweep.ts). A file that could not be swept is logged and fails the run,
 * so the error shows in the function's metrics; the next run tries it again.
 */
export const sweepFiles = async (): Promise<SweepResult> => {
  const result = await sweep(
    {
      repository,
      store,
      events,
      onError: (file, error) =>
        logger.error('Could not sweep the file', {
          fileId: file.fileId,
          status: file.status,
          error,
        }),
      timeLeft: invocationTimeLeft,
    },
    TIMING,
    new Date(),
  );
  const swept =
    result.failed +
    result.expired +
    result.arrived +
    result.deletionsFinished +
    result.outcomesPublished;
  if (swept > 0) metrics.addMetric(MetricName.FilesSwept, MetricUnit.Count, swept);
  // A sweep that found nothing is the usual case (every minute locally): not worth a line at INFO.
  if (swept > 0 || result.errors > 0) logger.info('Sweep done', { ...result });
  else logger.debug('Sweep done', { ...result });
  if (result.errors > 0) throw new Error(`${result.errors} files could not be swept; see the log`);
  return result;
};

export const handler = middy(sweepFiles)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(databaseDeadline())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics));
