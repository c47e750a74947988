import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { database } from '#shared/adapters/db/instance.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { logger } from '#shared/observability/powertools.ts';

const RESUMING =
  /DatabaseResumingException|resuming after being auto-paused|Communications link failure/i;

/** Aurora Serverless may be paused; the Data API says so and wants a retry in a few seconds. */
const withResumeRetries = async <T>(work: () => Promise<T>, attempts = 30): Promise<T> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const message = `${(error as Error).name} ${(error as Error).message}`;
      if (attempt >= attempts || !RESUMING.test(message)) throw error;
      logger.info('Database is resuming; waiting', { attempt });
      await new Promise((resolve) => setTimeout(resolve, 5000));
    }
  }
};

/**
 * CloudFormation custom resource (through the CDK provider framework): applies pending schema
 * migrations on create and update. Delete leaves the schema alone: data is never dropped by a
 * stack operation.
 */
export const onEvent = async (event: CloudFormationCustomResourceEvent) => {
  const physicalResourceId = 'syncflow-schema';
  if (event.RequestType === 'Delete') return { PhysicalResourceId: physicalResourceId };
  const applied = await withResumeRetries(async () => migrate((await database()).db));
  logger.info('Migrations applied', { applied });
  return { PhysicalResourceId: physicalResourceId, Data: { Applied: applied.join(',') } };
};

export const handler = middy(onEvent).use(injectLambdaContext(logger, { resetKeys: true }));
