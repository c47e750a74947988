import { randomUUID } from 'node:crypto';
import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
} from '@aws-sdk/client-cloudformation';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { readDeployedTemplate } from '../../scripts/deploy-stage.ts';
import { REGION } from '../support/emulator-resources.ts';

/** The pull-request diff's one AWS call, against the emulator's CloudFormation. */
describe('readDeployedTemplate on the emulator', () => {
  const cfn = new CloudFormationClient({
    endpoint: inject('emulatorEndpoint'),
    region: REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const stackName = `SyncFlow-diff-${randomUUID().slice(0, 8)}`;
  const template = JSON.stringify({
    Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 42 } } },
  });
  afterAll(() => cfn.send(new DeleteStackCommand({ StackName: stackName })));

  it('returns the template a stack was deployed with', async () => {
    await cfn.send(new CreateStackCommand({ StackName: stackName, TemplateBody: template }));
    const deployed = await readDeployedTemplate(cfn, stackName);
    expect(JSON.parse(deployed ?? '{}')).toEqual(JSON.parse(template));
  });

  it('tells a stack that was never deployed from a failure', async () => {
    expect(await readDeployedTemplate(cfn, `${stackName}-never`)).toBeUndefined();
  });
});
