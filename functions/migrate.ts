import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import {
  type DatabaseHandle,
  databaseConfigFromEnv,
  openDatabase,
} from '#shared/adapters/db/connect.ts';
import { MIGRATION_RETRY_ON } from '#shared/adapters/db/data-api.ts';
import { databaseDeadline } from '#shared/adapters/db/deadline.ts';
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

let opening: Promise<DatabaseHandle> | undefined;

/**
 * The migrator's own handle: on a first deploy it may run while the new cluster's writer is
 * still coming up, so besides a resuming or unavailable database it also waits out
 * DatabaseNotFoundException, for as long as the invocation has time (5 minutes).
 */
const migrationDatabase = (): Promise<DatabaseHandle> => {
  const config = databaseConfigFromEnv();
  opening ??= openDatabase(
    config.driver === 'data-api' ? { ...config, retryOn: MIGRATION_RETRY_ON } : config,
  );
  return opening;
};

/**
 * CloudFormation custom resource (through the CDK provider framework): applies pending schema
 * migrations on create and update. Delete leaves the schema alone: data is never dropped by a
 * stack operation.
 */
export const onEvent = async (event: CloudFormationCustomResourceEvent) => {
  const physicalResourceId = 'syncflow-schema';
  if (event.RequestType === 'Delete') return { PhysicalResourceId: physicalResourceId };
  const applied = await migrate((await migrationDatabase()).db);
  logger.info('Migrations applied', { applied });
  // Every deploy: a role's secret may have been rotated or replaced since the last one.
  const passwords = await rolePasswordsFromEnv(process.env, readSecret);
  const roles = await setRolePasswords((await migrationDatabase()).db, passwords);
  logger.info('Role passwords set', { roles });
  return { PhysicalResourceId: physicalResourceId, Data: { Applied: applied.join(',') } };
};

export const handler = middy(onEvent)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(databaseDeadline());
