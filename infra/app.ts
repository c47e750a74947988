import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SyncFlowStack } from './stack.ts';
import { stageConfig } from './stages.ts';

/**
 * `npx cdk deploy -c stage=dev|prod|local`. The stack is named after the stage so several stages
 * live side by side in one account; account and region come from the CLI's environment, and
 * nothing is looked up at synth time, so `cdk synth` needs no credentials.
 */
const app = new App();
const stageName = app.node.tryGetContext('stage') ?? 'dev';
const corsOrigins = app.node.tryGetContext('corsOrigins');
const databaseUrl = app.node.tryGetContext('databaseUrl');
const emulatorEndpoint = app.node.tryGetContext('emulatorEndpoint');
const notificationSender = app.node.tryGetContext('notificationSender');
const alarmEmail = app.node.tryGetContext('alarmEmail');
const notificationSenderIdentity = app.node.tryGetContext('notificationSenderIdentity');
const dataApiEndpoint = app.node.tryGetContext('dataApiEndpoint');
const dataApiDatabase = app.node.tryGetContext('dataApiDatabase');
// `-c sourceMaps=true` arrives as a string; a cdk.json context entry may be a boolean.
const sourceMaps = app.node.tryGetContext('sourceMaps');
const stage = stageConfig(stageName, {
  ...(typeof corsOrigins === 'string' && { corsOrigins }),
  ...(typeof databaseUrl === 'string' && { databaseUrl }),
  ...(typeof emulatorEndpoint === 'string' && { emulatorEndpoint }),
  ...(typeof notificationSender === 'string' && { notificationSender }),
  ...(typeof alarmEmail === 'string' && { alarmEmail }),
  ...(typeof notificationSenderIdentity === 'string' && { notificationSenderIdentity }),
  ...(typeof dataApiEndpoint === 'string' && { dataApiEndpoint }),
  ...(typeof dataApiDatabase === 'string' && { dataApiDatabase }),
  ...(sourceMaps !== undefined && { sourceMaps: String(sourceMaps) }),
});
new SyncFlowStack(app, `SyncFlow-${stage.name}`, {
  stage,
  description: `SyncFlow file upload and processing pipeline (${stage.name})`,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
