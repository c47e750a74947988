import { createHash } from 'node:crypto';
import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { FlowLogDestination, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import { Effect, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  AuroraPostgresEngineVersion,
  ClusterInstance,
  Credentials,
  DatabaseCluster,
  DatabaseClusterEngine,
  DatabaseSecret,
} from 'aws-cdk-lib/aws-rds';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { MIGRATIONS } from '../../migrations/index.ts';
import { localRolePassword } from '../../shared/adapters/db/role-passwords.ts';
import { DB_ROLES, type DbAccess } from '../../shared/domain/db-roles.ts';
import { type DatabaseSetting, LOCAL_DATA_API } from '../stages.ts';
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
 * Where file records live. In AWS: Aurora Serverless v2 PostgreSQL with the Data API, in
 * isolated subnets with no NAT gateway (the functions stay out of the VPC and talk to it over
 * the Data API). On the local stage: a PostgreSQL server by URL (or, in tests, behind the Data
 * API double). Either way, schema migrations are applied during `cdk deploy` by a custom
 * resource, which also sets the passwords of the roles the functions log in as: a reading role
 * and a writing one (migrations/0004_roles.ts). In AWS each role has its own generated secret,
 * and a function may read only its own; only the migrator holds the admin secret.
 */
export class Metadata extends Construct {
  readonly cluster?: DatabaseCluster;
  readonly migrator: SyncFlowFunction;
  readonly vpc?: Vpc;
  /** The migrator's environment: the admin login. */
  readonly environment: Record<string, string>;
  /** Which kind of database the functions talk to (and so which driver they bundle). */
  readonly kind: DatabaseSetting['kind'];
  /** The migrations' custom resource: it runs once the database can answer. */
  readonly schema: CustomResource;
  /** In AWS, each function role's secret (username and generated password). */
  readonly roleSecrets?: Readonly<Record<DbAccess, DatabaseSecret>>;
  private readonly roleEnvironment: Readonly<Record<DbAccess, Record<string, string>>>;

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
      const cluster = this.cluster;
      const secretFor = (access: DbAccess): DatabaseSecret => {
        const secret = new DatabaseSecret(
          this,
          access === 'read' ? 'ReaderSecret' : 'WriterSecret',
          {
            username: DB_ROLES[access],
            // Letters and digits: the migrator turns it into a SCRAM verifier, never into SQL.
            excludeCharacters: ' %+~`#$&*()|[]{}:;<>?!\'/@"\\=,.^-_',
          },
        );
        // A new stack makes new secrets, and its migrator sets the roles' passwords to them.
        secret.applyRemovalPolicy(RemovalPolicy.DESTROY);
        NagSuppressions.addResourceSuppressions(secret, [
          {
            id: 'AwsSolutions-SMG4',
            reason:
              "A function role's password, set in PostgreSQL by the migrator on deploy; rotation is the operator's (docs/security.md).",
          },
        ]);
        return secret;
      };
      this.roleSecrets = { read: secretFor('read'), write: secretFor('write') };
      const dataApi = (secretArn: string): Record<string, string> => ({
        DB_CLUSTER_ARN: cluster.clusterArn,
        DB_SECRET_ARN: secretArn,
        DB_NAME: DATABASE_NAME,
        ...(props.database.kind === 'aurora' &&
          props.database.dataApiEndpoint && {
            AWS_ENDPOINT_URL_RDS_DATA: props.database.dataApiEndpoint,
          }),
      });
      this.environment = dataApi(cluster.secret?.secretArn ?? '');
      this.roleEnvironment = {
        read: dataApi(this.roleSecrets.read.secretArn),
        write: dataApi(this.roleSecrets.write.secretArn),
      };
    } else if (props.database.kind === 'data-api') {
      // The SDK takes a service's own endpoint from AWS_ENDPOINT_URL_RDS_DATA, over the
      // AWS_ENDPOINT_URL the emulator gives every function. Each role has a secret the double
      // knows (test/support/targets.ts).
      const { clusterArn, name, endpoint } = props.database;
      const dataApi = (secretArn: string): Record<string, string> => ({
        DB_CLUSTER_ARN: clusterArn,
        DB_SECRET_ARN: secretArn,
        DB_NAME: name,
        AWS_ENDPOINT_URL_RDS_DATA: endpoint,
      });
      this.environment = dataApi(props.database.secretArn);
      this.roleEnvironment = {
        read: dataApi(LOCAL_DATA_API.roleSecretArns.read),
        write: dataApi(LOCAL_DATA_API.roleSecretArns.write),
      };
    } else {
      const adminUrl = props.database.url;
      this.environment = { DATABASE_URL: adminUrl };
      const roleUrl = (access: DbAccess): string => {
        const url = new URL(adminUrl);
        url.username = DB_ROLES[access];
        url.password = localRolePassword(adminUrl, DB_ROLES[access]);
        return url.toString();
      };
      this.roleEnvironment = {
        read: { DATABASE_URL: roleUrl('read') },
        write: { DATABASE_URL: roleUrl('write') },
      };
    }

    const roleSecrets = this.roleSecrets;
    // What the migrator sets the role passwords from: their secrets (AWS), or passwords the
    // local stage derives (from the admin URL, or the Data API double's cluster).
    const passwordSeed =
      props.database.kind === 'postgres'
        ? props.database.url
        : props.database.kind === 'data-api'
          ? props.database.clusterArn
          : undefined;
    const rolePasswords: Record<string, string> =
      passwordSeed !== undefined
        ? {
            ROLE_PASSWORDS: JSON.stringify(
              Object.fromEntries(
                Object.values(DB_ROLES).map((role) => [
                  role,
                  localRolePassword(passwordSeed, role),
                ]),
              ),
            ),
          }
        : {
            ROLE_SECRET_ARNS: JSON.stringify({
              [DB_ROLES.read]: roleSecrets?.read.secretArn,
              [DB_ROLES.write]: roleSecrets?.write.secretArn,
            }),
          };
    this.migrator = new SyncFlowFunction(this, 'Migrator', {
      entry: 'migrate',
      serviceName: 'migrate',
      ...props.functions,
      timeout: Duration.minutes(5),
      environment: { ...this.environment, ...rolePasswords },
    });
    const migrator = this.migrator;
    // The admin login, and the role secrets whose passwords it sets.
    this.cluster?.grantDataApiAccess(migrator);
    roleSecrets?.read.grantRead(migrator);
    roleSecrets?.write.grantRead(migrator);
    const provider = new Provider(this, 'MigrationProvider', {
      onEventHandler: migrator,
      logGroup: new LogGroup(this, 'MigrationProviderLogs', {
        retention: props.logRetention,
        removalPolicy: props.retainData
          ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
          : RemovalPolicy.DESTROY,
      }),
    });
    // The hash of every statement and of the role logins: a new migration or a new secret
    // changes it, which re-runs the resource.
    const schemaHash = createHash('sha256')
      .update(JSON.stringify([MIGRATIONS, Object.values(DB_ROLES)]))
      .digest('hex');
    this.schema = new CustomResource(this, 'Schema', {
      serviceToken: provider.serviceToken,
      properties: {
        schemaHash,
        ...(roleSecrets && {
          roleSecrets: [roleSecrets.read.secretArn, roleSecrets.write.secretArn],
        }),
      },
    });
    // The Data API answers only once the cluster has a writer; the function's environment makes
    // the resource wait for the cluster and its secret, not for the writer instance.
    if (this.cluster) this.schema.node.addDependency(this.cluster);
    NagSuppressions.addResourceSuppressions(
      provider,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason: 'The CDK provider framework may invoke every version of the migrator function.',
          appliesTo: [{ regex: '/^Resource::<MetadataMigrator[0-9A-F]+\\.Arn>:\\*$/' }],
        },
        { id: 'AwsSolutions-L1', reason: 'The CDK provider framework chooses its own runtime.' },
      ],
      true,
    );
  }

  /** Environment that tells a function how to reach the database as the role it needs. */
  environmentFor(access: DbAccess): Record<string, string> {
    return this.roleEnvironment[access];
  }

  /**
   * Lets a function run statements as the role it needs: in AWS the Data API on this cluster
   * and that role's secret only (never the admin secret); nothing to grant locally.
   */
  grantDataAccess(grantee: IGrantable, access: DbAccess): void {
    if (!this.cluster || !this.roleSecrets) return;
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: [
          'rds-data:BatchExecuteStatement',
          'rds-data:BeginTransaction',
          'rds-data:CommitTransaction',
          'rds-data:ExecuteStatement',
          'rds-data:RollbackTransaction',
        ],
        resources: [this.cluster.clusterArn],
      }),
    );
    this.roleSecrets[access].grantRead(grantee);
  }
}
