import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  parseGitHubRepository,
  parseOidcProviderArn,
  parsePipelineEnvironments,
  SyncFlowPipelineStack,
} from './pipeline-stack.ts';

/**
 * `npm run pipeline -- deploy -c githubRepository=<owner>/<name>`: the one-time set-up that lets
 * GitHub Actions deploy (docs/deploy.md, "Deploying from GitHub Actions"). A separate app from
 * infra/app.ts so that deploying it neither synthesises nor bundles a stage. Optional:
 * `-c pipelineEnvironments=dev,prod` (one account per environment: deploy it once in each) and
 * `-c githubOidcProviderArn=<arn>` when the account has GitHub's OIDC provider already.
 */
const app = new App();
new SyncFlowPipelineStack(app, 'SyncFlow-pipeline', {
  repository: parseGitHubRepository(app.node.tryGetContext('githubRepository')),
  environments: parsePipelineEnvironments(app.node.tryGetContext('pipelineEnvironments')),
  oidcProviderArn: parseOidcProviderArn(app.node.tryGetContext('githubOidcProviderArn')),
  description: 'GitHub Actions deploy roles for SyncFlow (OIDC, no stored keys)',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
