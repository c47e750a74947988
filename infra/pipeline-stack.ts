import {
  CfnOutput,
  DefaultStackSynthesizer,
  Duration,
  Fn,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import {
  type IOidcProvider,
  OidcProviderNative,
  PolicyDocument,
  PolicyStatement,
  Role,
  WebIdentityPrincipal,
} from 'aws-cdk-lib/aws-iam';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { STAGES } from './stages.ts';

/** The issuer of GitHub Actions' OIDC tokens; IAM keeps one provider per issuer and account. */
export const GITHUB_OIDC_ISSUER = 'token.actions.githubusercontent.com';
/** The audience `aws-actions/configure-aws-credentials` asks GitHub to put in the token. */
export const GITHUB_OIDC_AUDIENCE = 'sts.amazonaws.com';
/** The GitHub environments (and so SyncFlow stages) the deploy workflow deploys, in order. */
export const DEFAULT_PIPELINE_ENVIRONMENTS = ['dev', 'prod'] as const;

/**
 * The bootstrap roles the CDK CLI itself assumes during `cdk deploy`: deploy-role (change sets,
 * and it passes cfn-exec-role to CloudFormation, so the pipeline never needs the latter),
 * the asset publishing roles, and lookup-role (it reads the deployed template). Named exactly as
 * the synthesizer names them, `${Qualifier}` included.
 */
const BOOTSTRAP_ROLE_ARNS = [
  DefaultStackSynthesizer.DEFAULT_DEPLOY_ROLE_ARN,
  DefaultStackSynthesizer.DEFAULT_FILE_ASSET_PUBLISHING_ROLE_ARN,
  DefaultStackSynthesizer.DEFAULT_IMAGE_ASSET_PUBLISHING_ROLE_ARN,
  DefaultStackSynthesizer.DEFAULT_LOOKUP_ROLE_ARN,
] as const;

// GitHub's own rules: an owner is 1-39 letters, digits or single inner hyphens; a repository
// name is letters, digits, '.', '_' and '-', at most 100, and never '.' or '..'. Anything else
// (a URL, a wildcard, a missing half) is a mistake that would leave a role nobody can assume.
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const NAME = /^[A-Za-z0-9._-]{1,100}$/;
const PROVIDER_ARN = new RegExp(
  `^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/${GITHUB_OIDC_ISSUER.replaceAll('.', '\\.')}$`,
);
const QUALIFIER = /^[A-Za-z0-9_-]{1,10}$/;

/**
 * `owner/name` of a GitHub repository, checked, as it appears in the OIDC token's `sub` claim.
 * Throws with the context key to set when the value is missing or is not `owner/name`.
 */
export const parseGitHubRepository = (value: unknown): string => {
  const hint =
    'give the GitHub repository that may deploy as -c githubRepository=<owner>/<name>, spelled as GitHub shows it';
  if (typeof value !== 'string' || value.trim() === '') {
    throw new Error(`The pipeline stack needs a repository: ${hint}`);
  }
  const [owner = '', name = '', ...rest] = value.trim().split('/');
  if (rest.length > 0 || !OWNER.test(owner) || !NAME.test(name) || /^\.{1,2}$/.test(name)) {
    throw new Error(`githubRepository ${JSON.stringify(value)} is not <owner>/<name>: ${hint}`);
  }
  return `${owner}/${name}`;
};

/** The stages a pipeline may deploy: those deployed to AWS, not into an emulator. */
const awsStages = () =>
  Object.values(STAGES)
    .filter((stage) => stage.emulatorEndpoint === undefined)
    .map((stage) => stage.name);

/**
 * The GitHub environments to make roles for, from `-c pipelineEnvironments=dev,prod`: each must
 * be a stage deployed to AWS, since its role exists to deploy `SyncFlow-<environment>`.
 */
export const parsePipelineEnvironments = (value: unknown): readonly string[] => {
  if (value === undefined) return DEFAULT_PIPELINE_ENVIRONMENTS;
  const names =
    typeof value === 'string'
      ? value
          .split(',')
          .map((name) => name.trim())
          .filter(Boolean)
      : Array.isArray(value)
        ? value.map(String)
        : [];
  if (names.length === 0) {
    throw new Error(
      `pipelineEnvironments ${JSON.stringify(value)} names no environment; use a comma-separated list of ${awsStages().join(', ')}`,
    );
  }
  for (const name of names) {
    if (!awsStages().includes(name)) {
      throw new Error(
        `pipelineEnvironments: ${JSON.stringify(name)} is not a stage deployed to AWS; use ${awsStages().join(', ')}`,
      );
    }
  }
  return [...new Set(names)];
};

/** Checks `-c githubOidcProviderArn`: the account's existing provider for GitHub's issuer. */
export const parseOidcProviderArn = (value: unknown): string | undefined => {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !PROVIDER_ARN.test(value.trim())) {
    throw new Error(
      `githubOidcProviderArn ${JSON.stringify(value)} is not the ARN of an IAM OIDC provider for ${GITHUB_OIDC_ISSUER} (arn:aws:iam::<account>:oidc-provider/${GITHUB_OIDC_ISSUER})`,
    );
  }
  return value.trim();
};

export interface PipelineStackProps extends StackProps {
  /** `owner/name` of the only GitHub repository whose workflows may assume the roles. */
  readonly repository: string;
  /**
   * GitHub environments, each named after the SyncFlow stage it deploys; each gets a deploy role
   * and a diff role. @default ['dev', 'prod']
   */
  readonly environments?: readonly string[];
  /**
   * The account's existing IAM OIDC provider for GitHub, used instead of creating one (an account
   * has at most one provider per issuer URL). @default a provider is created
   */
  readonly oidcProviderArn?: string;
}

const capitalise = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

/**
 * What GitHub Actions needs in an account to deploy SyncFlow without stored keys: GitHub's OIDC
 * provider and, per environment, a deploy role that only the repository's jobs in that GitHub
 * environment can assume and that can do nothing but assume the CDK bootstrap roles, plus a
 * read-only diff role for pull requests (it may read that stage's deployed template, no more).
 */
export class SyncFlowPipelineStack extends Stack {
  readonly oidcProvider: IOidcProvider;
  /** The deploy role of each environment, by environment name. */
  readonly deployRoles: Readonly<Record<string, Role>>;
  /** The pull-request diff role of each environment, by environment name. */
  readonly diffRoles: Readonly<Record<string, Role>>;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const repository = parseGitHubRepository(props.repository);
    const environments = parsePipelineEnvironments(props.environments);
    const qualifier =
      this.synthesizer.bootstrapQualifier ?? DefaultStackSynthesizer.DEFAULT_QUALIFIER;
    if (!QUALIFIER.test(qualifier)) {
      throw new Error(`Bootstrap qualifier ${JSON.stringify(qualifier)} is not one CDK accepts`);
    }

    const providerArn = parseOidcProviderArn(props.oidcProviderArn);
    this.oidcProvider = providerArn
      ? OidcProviderNative.fromOidcProviderArn(this, 'GitHubOidc', providerArn)
      : new OidcProviderNative(this, 'GitHubOidc', {
          url: `https://${GITHUB_OIDC_ISSUER}`,
          clientIds: [GITHUB_OIDC_AUDIENCE],
          // No thumbprints: IAM trusts GitHub's issuer through its own CA library, and a pinned
          // thumbprint would break at GitHub's next certificate change.
        });
    const fromGitHub = (subject: string) =>
      new WebIdentityPrincipal(this.oidcProvider.oidcProviderArn, {
        StringEquals: {
          [`${GITHUB_OIDC_ISSUER}:aud`]: GITHUB_OIDC_AUDIENCE,
          [`${GITHUB_OIDC_ISSUER}:sub`]: subject,
        },
      });
    const bootstrapRoles = BOOTSTRAP_ROLE_ARNS.map((arn) =>
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the synthesizer's own placeholder.
      Fn.sub(arn.replaceAll('${Qualifier}', qualifier)),
    );

    const deployRoles: Record<string, Role> = {};
    const diffRoles: Record<string, Role> = {};
    for (const environment of environments) {
      const suffix = capitalise(environment);
      // A job gets this subject only when it names the environment, so the environment's
      // protection rules (required reviewers, main only) guard the role.
      deployRoles[environment] = new Role(this, `Deploy${suffix}`, {
        assumedBy: fromGitHub(`repo:${repository}:environment:${environment}`),
        description: `cdk deploy of SyncFlow-${environment} from ${repository} (GitHub environment ${environment}): assumes the CDK bootstrap roles only`,
        maxSessionDuration: Duration.hours(1),
        inlinePolicies: {
          AssumeBootstrapRoles: new PolicyDocument({
            statements: [
              new PolicyStatement({ actions: ['sts:AssumeRole'], resources: bootstrapRoles }),
            ],
          }),
        },
      });

      // Pull requests carry no environment (prod's reviewers would otherwise gate every diff),
      // and the bootstrap lookup role reads the whole account (objects in our buckets too): a
      // pull request's diff gets the deployed template of its stage and nothing more.
      const stackName = `SyncFlow-${environment}`;
      // Pseudo parameters rather than the synth-time account and region: the template (and so
      // its tests and nag findings) is the same whichever account synthesises it.
      const stackArn = Fn.sub(
        `arn:\${AWS::Partition}:cloudformation:\${AWS::Region}:\${AWS::AccountId}:stack/${stackName}/*`,
      );
      diffRoles[environment] = new Role(this, `Diff${suffix}`, {
        assumedBy: fromGitHub(`repo:${repository}:pull_request`),
        description: `cdk diff of ${stackName} for pull requests of ${repository}: reads its deployed template only`,
        maxSessionDuration: Duration.hours(1),
        inlinePolicies: {
          ReadDeployedTemplate: new PolicyDocument({
            statements: [
              new PolicyStatement({
                actions: ['cloudformation:GetTemplate'],
                resources: [stackArn],
              }),
            ],
          }),
        },
      });
      NagSuppressions.addResourceSuppressions(diffRoles[environment], [
        {
          id: 'AwsSolutions-IAM5',
          reason: `A stack's ARN ends in an id CloudFormation makes when it creates ${stackName}; the name is fixed.`,
          appliesTo: [
            `Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/${stackName}/*`,
          ],
        },
      ]);

      new CfnOutput(this, `DeployRoleArn${suffix}`, {
        value: deployRoles[environment].roleArn,
        description: `GitHub environment ${environment}: variable AWS_DEPLOY_ROLE_ARN`,
      });
      new CfnOutput(this, `DiffRoleArn${suffix}`, {
        value: diffRoles[environment].roleArn,
        description: `GitHub repository variable AWS_DIFF_ROLE_ARN_${environment.toUpperCase()}`,
      });
    }
    this.deployRoles = deployRoles;
    this.diffRoles = diffRoles;
    new CfnOutput(this, 'OidcProviderArn', { value: this.oidcProvider.oidcProviderArn });
  }
}
