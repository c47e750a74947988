import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Aspects } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnRole, Role } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_PIPELINE_ENVIRONMENTS,
  type PipelineStackProps,
  parseGitHubRepository,
  parseOidcProviderArn,
  parsePipelineEnvironments,
  SyncFlowPipelineStack,
} from '../../infra/pipeline-stack.ts';

const REPOSITORY = 'acme-corp/sync.flow';
const ISSUER = 'token.actions.githubusercontent.com';

const synth = (props: PipelineStackProps, context: Record<string, unknown> = {}) => {
  const app = new App({ context });
  const stack = new SyncFlowPipelineStack(app, 'SyncFlow-pipeline', props);
  Aspects.of(app).add(new AwsSolutionsChecks());
  app.synth();
  return { stack, template: Template.fromStack(stack) };
};

const pipeline = synth({ repository: REPOSITORY });

type Statement = { Effect: string; Action: unknown; Resource?: unknown; [key: string]: unknown };

/** The role's resource in the template, found by the construct rather than by a guessed id. */
const roleResource = ({ stack, template }: ReturnType<typeof synth>, role: Role) => {
  const id = stack.getLogicalId(role.node.defaultChild as CfnRole);
  const resource = template.toJSON().Resources[id];
  expect(resource, id).toBeDefined();
  return { id, properties: resource.Properties };
};

/**
 * Every statement of every identity policy that reaches the role: its inline policies and any
 * AWS::IAM::Policy attached to it. A managed policy fails the test outright.
 */
const permissionsOf = (synthed: ReturnType<typeof synth>, role: Role): Statement[] => {
  const { id, properties } = roleResource(synthed, role);
  expect(properties.ManagedPolicyArns).toBeUndefined();
  const inline = (properties.Policies ?? []).flatMap(
    (policy: { PolicyDocument: { Statement: Statement[] } }) => policy.PolicyDocument.Statement,
  );
  const attached = Object.values(synthed.template.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${id}"`))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
  return [...inline, ...attached];
};

const bootstrapRole = (qualifier: string, role: string) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/cdk-${qualifier}-${role}-\${AWS::AccountId}-\${AWS::Region}`,
});

const providerRef = () => {
  const providers = Object.keys(pipeline.template.findResources('AWS::IAM::OIDCProvider'));
  expect(providers).toHaveLength(1);
  return { Ref: providers[0] };
};

describe('pipeline stack: GitHub OIDC provider', () => {
  it("is GitHub's issuer with the STS audience, and no pinned thumbprint", () => {
    pipeline.template.hasResourceProperties('AWS::IAM::OIDCProvider', {
      Url: `https://${ISSUER}`,
      ClientIdList: ['sts.amazonaws.com'],
      ThumbprintList: Match.absent(),
    });
  });

  it("uses the account's existing provider when its ARN is given, and creates none", () => {
    const arn = `arn:aws:iam::123456789012:oidc-provider/${ISSUER}`;
    const imported = synth({ repository: REPOSITORY, oidcProviderArn: arn });
    imported.template.resourceCountIs('AWS::IAM::OIDCProvider', 0);
    const trust = roleResource(imported, imported.stack.deployRoles.prod as Role).properties
      .AssumeRolePolicyDocument.Statement;
    expect(trust).toEqual([expect.objectContaining({ Principal: { Federated: arn } })]);
  });
});

describe('pipeline stack: deploy roles', () => {
  it('exist for dev and prod by default, as the deploy workflow deploys them', () => {
    expect(Object.keys(pipeline.stack.deployRoles)).toEqual(['dev', 'prod']);
    expect(DEFAULT_PIPELINE_ENVIRONMENTS).toEqual(['dev', 'prod']);
  });

  it.each(['dev', 'prod'])(
    "trust only this repository's jobs in the %s environment, through GitHub's provider",
    (environment) => {
      const role = pipeline.stack.deployRoles[environment] as Role;
      // Exact: an extra statement, a StringLike or a looser subject would fail here.
      expect(roleResource(pipeline, role).properties.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sts:AssumeRoleWithWebIdentity',
            Principal: { Federated: providerRef() },
            Condition: {
              StringEquals: {
                [`${ISSUER}:aud`]: 'sts.amazonaws.com',
                [`${ISSUER}:sub`]: `repo:${REPOSITORY}:environment:${environment}`,
              },
            },
          },
        ],
      });
    },
  );

  it.each(['dev', 'prod'])(
    'in %s may do nothing but assume the CDK bootstrap roles the CLI uses',
    (environment) => {
      const statements = permissionsOf(pipeline, pipeline.stack.deployRoles[environment] as Role);
      expect(statements).toEqual([
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Resource: [
            bootstrapRole('hnb659fds', 'deploy-role'),
            bootstrapRole('hnb659fds', 'file-publishing-role'),
            bootstrapRole('hnb659fds', 'image-publishing-role'),
            bootstrapRole('hnb659fds', 'lookup-role'),
          ],
        },
      ]);
    },
  );

  it("follow the app's bootstrap qualifier", () => {
    const custom = synth(
      { repository: REPOSITORY },
      { '@aws-cdk/core:bootstrapQualifier': 'corp42' },
    );
    const [statement] = permissionsOf(custom, custom.stack.deployRoles.dev as Role);
    expect(statement?.Resource).toEqual([
      bootstrapRole('corp42', 'deploy-role'),
      bootstrapRole('corp42', 'file-publishing-role'),
      bootstrapRole('corp42', 'image-publishing-role'),
      bootstrapRole('corp42', 'lookup-role'),
    ]);
  });

  it('exist only for the environments asked for', () => {
    const prodOnly = synth({ repository: REPOSITORY, environments: ['prod'] });
    expect(Object.keys(prodOnly.stack.deployRoles)).toEqual(['prod']);
    prodOnly.template.resourceCountIs('AWS::IAM::Role', 2);
  });
});

describe('pipeline stack: pull-request diff roles', () => {
  it.each(['dev', 'prod'])(
    "in %s trust this repository's pull requests and only read that stage's template",
    (environment) => {
      const role = pipeline.stack.diffRoles[environment] as Role;
      expect(roleResource(pipeline, role).properties.AssumeRolePolicyDocument.Statement).toEqual([
        expect.objectContaining({
          Action: 'sts:AssumeRoleWithWebIdentity',
          Principal: { Federated: providerRef() },
          Condition: {
            StringEquals: {
              [`${ISSUER}:aud`]: 'sts.amazonaws.com',
              [`${ISSUER}:sub`]: `repo:${REPOSITORY}:pull_request`,
            },
          },
        }),
      ]);
      expect(permissionsOf(pipeline, role)).toEqual([
        {
          Effect: 'Allow',
          Action: 'cloudformation:GetTemplate',
          Resource: {
            'Fn::Sub': `arn:\${AWS::Partition}:cloudformation:\${AWS::Region}:\${AWS::AccountId}:stack/SyncFlow-${environment}/*`,
          },
        },
      ]);
    },
  );
});

describe('pipeline stack: settings', () => {
  it('refuses a missing or malformed repository with the setting to give', () => {
    expect(() => parseGitHubRepository(undefined)).toThrow(
      /needs a repository: .*-c githubRepository=<owner>\/<name>/,
    );
    for (const bad of [
      '',
      'acme',
      'acme/',
      '/syncflow',
      'acme/sync/flow',
      'https://github.com/acme/syncflow',
      'acme/*',
      'acme*/syncflow',
      '-acme/syncflow',
      'acme--/syncflow',
      'acme/..',
      'acme/sync flow',
    ]) {
      expect(() => parseGitHubRepository(bad), bad).toThrow(/githubRepository|needs a repository/);
    }
    expect(parseGitHubRepository(' acme-corp/sync.flow ')).toBe('acme-corp/sync.flow');
    expect(() => synth({ repository: 'acme' })).toThrow(/is not <owner>\/<name>/);
  });

  it('refuses environments that are not stages deployed to AWS', () => {
    expect(parsePipelineEnvironments(undefined)).toEqual(['dev', 'prod']);
    expect(parsePipelineEnvironments(' prod , dev ')).toEqual(['prod', 'dev']);
    expect(() => parsePipelineEnvironments('local')).toThrow(
      /"local" is not a stage deployed to AWS/,
    );
    expect(() => parsePipelineEnvironments('prod-rehearsal')).toThrow(/not a stage deployed/);
    expect(() => parsePipelineEnvironments('staging')).toThrow(/not a stage deployed/);
    expect(() => parsePipelineEnvironments(' , ')).toThrow(/names no environment/);
  });

  it('refuses a provider ARN that is not for GitHub', () => {
    expect(parseOidcProviderArn(undefined)).toBeUndefined();
    expect(() =>
      parseOidcProviderArn('arn:aws:iam::123456789012:oidc-provider/gitlab.com'),
    ).toThrow(/not the ARN of an IAM OIDC provider for token\.actions\.githubusercontent\.com/);
    expect(() => parseOidcProviderArn('token.actions.githubusercontent.com')).toThrow();
  });
});

describe('pipeline app (infra/pipeline-app.ts, as `npm run pipeline` runs it)', () => {
  let outdir = '';
  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'syncflow-pipeline-app-'));
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));
  /** The entry as the CDK CLI starts it: context and output directory in the environment. */
  const runApp = (context: Record<string, string>) =>
    spawnSync('npx', ['tsx', 'infra/pipeline-app.ts'], {
      encoding: 'utf8',
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
    });

  it('refuses to synthesise without -c githubRepository, saying what to give', () => {
    const run = runApp({});
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/needs a repository: .*-c githubRepository=<owner>\/<name>/);
  });

  it('synthesises the roles for the repository it is given', () => {
    const run = runApp({ githubRepository: 'acme/syncflow', pipelineEnvironments: 'prod' });
    expect(run.status, run.stderr).toBe(0);
    // cdk-nag's findings are error annotations in the assembly, which the CLI refuses to deploy.
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { metadata?: Record<string, { type: string; data: unknown }[]> }>;
    };
    const errors = Object.values(manifest.artifacts['SyncFlow-pipeline']?.metadata ?? {})
      .flat()
      .filter((entry) => entry.type === 'aws:cdk:error');
    expect(errors).toEqual([]);
    const template = JSON.parse(
      readFileSync(join(outdir, 'SyncFlow-pipeline.template.json'), 'utf8'),
    ) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const subjects = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Role')
      .map((r) => JSON.stringify(r.Properties.AssumeRolePolicyDocument))
      .map((trust) => /"(repo:[^"]+)"/.exec(trust)?.[1]);
    expect(subjects.sort()).toEqual([
      'repo:acme/syncflow:environment:prod',
      'repo:acme/syncflow:pull_request',
    ]);
  });
});

describe('pipeline stack: cdk-nag AwsSolutions', () => {
  it('reports no errors', () => {
    const errors = Annotations.fromStack(pipeline.stack).findError(
      '*',
      Match.stringLikeRegexp('AwsSolutions-.*'),
    );
    expect(errors.map((e) => `${e.id}: ${String(e.entry.data).split('\n')[0]}`)).toEqual([]);
  });

  it('names what each suppression applies to', () => {
    const suppressions = Object.values(
      pipeline.template.toJSON().Resources as Record<string, { Metadata?: unknown }>,
    ).flatMap(
      (r) =>
        ((r.Metadata as { cdk_nag?: { rules_to_suppress?: unknown[] } } | undefined)?.cdk_nag
          ?.rules_to_suppress ?? []) as { id: string; applies_to?: unknown[] }[],
    );
    expect(suppressions.length).toBeGreaterThan(0);
    for (const suppression of suppressions) {
      expect(suppression.applies_to?.length, suppression.id).toBeGreaterThan(0);
    }
  });
});
