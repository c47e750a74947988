import { CloudFormationClient, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { cdkContextArgs, codeBlock, readDeployedTemplate } from '../../../scripts/deploy-stage.ts';

describe('cdkContextArgs', () => {
  it('turns key=value pairs into -c arguments', () => {
    expect(
      cdkContextArgs(' alarmEmail=ops@example.com\n notificationSender=files@example.com '),
    ).toEqual(['-c', 'alarmEmail=ops@example.com', '-c', 'notificationSender=files@example.com']);
    expect(cdkContextArgs(undefined)).toEqual([]);
    expect(cdkContextArgs('')).toEqual([]);
  });

  it('refuses a key a deployed stage does not read, rather than ignore it', () => {
    expect(() => cdkContextArgs('alarmEmial=ops@example.com')).toThrow(
      /"alarmEmial=ops@example.com" is not key=value with a key of alarmEmail, /,
    );
    // Local-only settings would point a deployed stage at this machine.
    expect(() => cdkContextArgs('emulatorEndpoint=http://127.0.0.1:4566')).toThrow(/not key=value/);
    expect(() => cdkContextArgs('alarmEmail')).toThrow(/not key=value/);
  });
});

describe('codeBlock', () => {
  it('fences text so that no backtick run inside it closes the block', () => {
    expect(codeBlock('a ``` b')).toBe('````\na ``` b\n````\n');
    expect(codeBlock('plain\n')).toBe('```\nplain\n```\n');
  });

  it('cuts text past the limit and says how much is left out', () => {
    const block = codeBlock('x'.repeat(50), 20);
    expect(block).toContain(`${'x'.repeat(20)}\n… 30 more characters: see the job's log`);
    expect(block).not.toContain('x'.repeat(21));
  });
});

describe('readDeployedTemplate', () => {
  const cfn = new CloudFormationClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  const mock = mockClient(cfn);
  beforeEach(() => mock.reset());

  it('asks for the template as it was deployed', async () => {
    mock.on(GetTemplateCommand).resolves({ TemplateBody: '{"Resources":{}}' });
    expect(await readDeployedTemplate(cfn, 'SyncFlow-dev')).toBe('{"Resources":{}}');
    expect(mock.commandCalls(GetTemplateCommand)[0]?.args[0].input).toEqual({
      StackName: 'SyncFlow-dev',
      TemplateStage: 'Original',
    });
  });

  it('fails on a refusal instead of showing a whole-stack diff', async () => {
    mock.on(GetTemplateCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: cloudformation:GetTemplate'), {
        name: 'AccessDenied',
      }),
    );
    await expect(readDeployedTemplate(cfn, 'SyncFlow-prod')).rejects.toThrow(/not authorized/);
  });
});
