import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { database } from '#shared/adapters/db/instance.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { rolePasswordsFromEnv, setRolePasswords } from '#shared/adapters/db/role-passwords.ts';
import { logger } from '#shared/observability/powertools.ts';

/** A role's secret, as Secrets Manager keeps it (JSON with `username` and `password`). */
const readSecret = async (arn: string): Promise<string> => {
  const secret = await new SecretsManagerClient({}).send(
    new GetSecretValueCommand({ SecretId: arn }),
  );
  if (!secret.SecretString) throw new Error(`Secret ${arn} has no string value`);
  return secret.SecretString;
};

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
  // Every deploy: a role's secret may have been rotated or replaced since the last one.
  const passwords = await rolePasswordsFromEnv(process.env, readSecret);
  const roles = await setRolePasswords((await database()).db, passwords);
  logger.info('Role passwords set', { roles });
  return { PhysicalResourceId: physicalResourceId, Data: { Applied: applied.join(',') } };
};

export const handler = middy(onEvent).use(injectLambdaContext(logger, { resetKeys: true }));
