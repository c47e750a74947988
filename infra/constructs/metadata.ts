import { createHash } from 'node:crypto';
import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { FlowLogDestination, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  AuroraPostgresEngineVersion,
  ClusterInstance,
  Credentials,
  DatabaseCluster,
  DatabaseClusterEngine,
} from 'aws-cdk-lib/aws-rds';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { DatabaseSetting } from '../stages.ts';
import { type FunctionDefaults, SyncFlowFunction } from './base-function.ts';

export interface MetadataProps {
  readonly database: DatabaseSetting;
  readonly retainData: boolean;
  readonly logRetention: RetentionDays;
  readonly functions: FunctionDefaults;
  /** Flow logs on the database VPC (off only where the emulator has none). */
  readonly vpcFlowLogs: boolean;
  /** Aurora's PostgreSQL log in CloudWatch with `logRetention` (StageConfig.databaseLogExports). */
  readonly databaseLogExports: boolean;
}

const DATABASE_NAME = 'syncflow';

/**
 * Aurora PostgreSQL's version, chosen on purpose: AWS withdraws old minor versions, after which
 * a first deploy fails with "Cannot find version … for aurora-postgresql". 17.7 runs the Data
 * API and scales to 0 ACU (dev). Check that a region offers it, before a first deploy, with
 * `npm run preflight -- --stage <stage>` or `aws rds describe-db-engine-versions --engine
 * aurora-postgresql --engine-version 17.7` (docs/deploy.md).
 */
export const AURORA_POSTGRES_VERSION = AuroraPostgresEngineVersion.VER_17_7;

/**
 * Where file records live. In AWS: Aurora Serverless v2 PostgreSQL with the Data API, its
 * credentials in Secrets Manager, in isolated subnets with no NAT gateway (the functions stay out
 * of the VPC and talk to it over the Data API). On the local stage: a PostgreSQL server by URL.
 * Either way, schema migrations are applied during `cdk deploy` by a custom resource.
 */
export class Metadata extends Construct {
  readonly cluster?: DatabaseCluster;
  readonly migrator: SyncFlowFunction;
  readonly vpc?: Vpc;
  /** Environment that tells a function how to reach the database. */
  readonly environment: Record<string, string>;
  /** Which kind of database the functions talk to (and so which driver they bundle). */
  readonly kind: DatabaseSetting['kind'];
  /** The migrations' custom resource: it runs once the database can answer. */
  readonly schema: CustomResource;

  constructor(scope: Construct, id: string, props: MetadataProps) {
    super(scope, id);
    this.kind = props.database.kind;
    if (props.database.kind === 'aurora') {
      const { minCapacity, maxCapacity } = props.database;
      if (minCapacity < 0 || maxCapacity < Math.max(minCapacity, 1)) {
        throw new Error(
          `Aurora capacity must satisfy 0 <= min <= max and max >= 1, not ${minCapacity}..${maxCapacity}`,
        );
      }
      this.vpc = new Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [
          { name: 'database', subnetType: SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
        ],
      });
      if (props.vpcFlowLogs) {
        this.vpc.addFlowLog('FlowLog', {
          destination: FlowLogDestination.toCloudWatchLogs(
            new LogGroup(this, 'FlowLogs', {
              retention: props.logRetention,
              removalPolicy: props.retainData
                ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
                : RemovalPolicy.DESTROY,
            }),
          ),
        });
      } else {
        NagSuppressions.addResourceSuppressions(this.vpc, [
          {
            id: 'AwsSolutions-VPC7',
            reason:
              'Only the prod-rehearsal stage, deployed into the emulator, whose CloudFormation has no AWS::EC2::FlowLog.',
          },
        ]);
      }
      this.cluster = new DatabaseCluster(this, 'Cluster', {
        engine: DatabaseClusterEngine.auroraPostgres({ version: AURORA_POSTGRES_VERSION }),
        credentials: Credentials.fromGeneratedSecret('syncflow_admin'),
        defaultDatabaseName: DATABASE_NAME,
        writer: ClusterInstance.serverlessV2('Writer'),
        serverlessV2MinCapacity: minCapacity,
        serverlessV2MaxCapacity: maxCapacity,
        enableDataApi: true,
        storageEncrypted: true,
        iamAuthentication: true,
        deletionProtection: props.retainData,
        backup: { retention: Duration.days(props.retainData ? 14 : 1) },
        removalPolicy: props.retainData ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
        vpc: this.vpc,
        vpcSubnets: { subnetType: SubnetType.PRIVATE_ISOLATED },
        ...(props.databaseLogExports && {
          cloudwatchLogsExports: ['postgresql'],
          cloudwatchLogsRetention: props.logRetention,
        }),
      });
      NagSuppressions.addResourceSuppressions(
        this.cluster,
        [
          {
            id: 'AwsSolutions-SMG4',
            reason:
              'Only the Data API uses this secret; rotation is left to the operator (see docs) so a rotation never races a deploy.',
          },
          {
            id: 'AwsSolutions-RDS10',
            reason:
              'Deletion protection is on in every stage that retains data (prod); dev and local are disposable by design.',
          },
          {
            id: 'AwsSolutions-RDS6',
            reason:
              'Functions reach the database only through the Data API with the Secrets Manager secret; IAM database auth is enabled for people.',
          },
          { id: 'AwsSolutions-RDS14', reason: 'Backtrack is not available for Aurora PostgreSQL.' },
        ],
        true,
      );
      this.environment = {
        DB_CLUSTER_ARN: this.cluster.clusterArn,
        DB_SECRET_ARN: this.cluster.secret?.secretArn ?? '',
        DB_NAME: DATABASE_NAME,
        ...(props.database.dataApiEndpoint && {
          AWS_ENDPOINT_URL_RDS_DATA: props.database.dataApiEndpoint,
        }),
      };
    } else if (props.database.kind === 'data-api') {
      // The SDK takes a service's own endpoint from AWS_ENDPOINT_URL_RDS_DATA, over the
      // AWS_ENDPOINT_URL the emulator gives every function.
      this.environment = {
        DB_CLUSTER_ARN: props.database.clusterArn,
        DB_SECRET_ARN: props.database.secretArn,
        DB_NAME: props.database.name,
        AWS_ENDPOINT_URL_RDS_DATA: props.database.endpoint,
      };
    } else {
      this.environment = { DATABASE_URL: props.database.url };
    }

    this.migrator = new SyncFlowFunction(this, 'Migrator', {
      entry: 'migrate',
      serviceName: 'migrate',
      ...props.functions,
      timeout: Duration.minutes(5),
      environment: this.environment,
    });
    const migrator = this.migrator;
    this.grantDataAccess(migrator);
    const provider = new Provider(this, 'MigrationProvider', {
      onEventHandler: migrator,
      logGroup: new LogGroup(this, 'MigrationProviderLogs', {
        retention: props.logRetention,
        removalPolicy: props.retainData
          ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
          : RemovalPolicy.DESTROY,
      }),
    });
    // The hash of every statement: a new migration changes it, which re-runs the resource.
    const schemaHash = createHash('sha256').update(JSON.stringify(MIGRATIONS)).digest('hex');
    this.schema = new CustomResource(this, 'Schema', {
      serviceToken: provider.serviceToken,
      properties: { schemaHash },
    });
    // The Data API answers only once the cluster has a writer; the function's environment makes
    // the resource wait for the cluster and its secret, not for the writer instance.
    if (this.cluster) this.schema.node.addDependency(this.cluster);
    NagSuppressions.addResourceSuppressions(
      provider,
      [
        {
          id: 'AwsSolutions-IAM4',
          reason: 'The CDK provider framework uses the AWS-managed basic execution role.',
        },
        {
          id: 'AwsSolutions-IAM5',
          reason: 'The CDK provider framework may invoke every version of the migrator function.',
        },
        { id: 'AwsSolutions-L1', reason: 'The CDK provider framework chooses its own runtime.' },
      ],
      true,
    );
  }

  /** Lets a function run statements: the Data API and the secret in AWS; nothing to grant locally. */
  grantDataAccess(grantee: IGrantable): void {
    this.cluster?.grantDataApiAccess(grantee);
  }
}
