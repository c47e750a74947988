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
import type { DatabaseSetting } from '../stages.ts';
import { type FunctionDefaults, SyncFlowFunction } from './base-function.ts';

export interface MetadataProps {
  readonly database: DatabaseSetting;
  readonly retainData: boolean;
  readonly logRetention: RetentionDays;
  readonly functions: FunctionDefaults;
}

const DATABASE_NAME = 'syncflow';

/**
 * Where file records live. In AWS: Aurora Serverless v2 PostgreSQL with the Data API, in
 * isolated subnets with no NAT gateway (the functions stay out of the VPC and talk to it over
 * the Data API). On the local stage: a PostgreSQL server by URL. Either way, schema migrations
 * are applied during `cdk deploy` by a custom resource, which also sets the passwords of the
 * roles the functions log in as: a reading role and a writing one (migrations/0004_roles.ts).
 * In AWS each role has its own generated secret, and a function may read only its own; only
 * the migrator holds the admin secret.
 */
export class Metadata extends Construct {
  readonly cluster?: DatabaseCluster;
  readonly migrator: SyncFlowFunction;
  readonly vpc?: Vpc;
  /** The migrator's environment: the admin login. */
  readonly environment: Record<string, string>;
  /** Which kind of database the functions talk to (and so which driver they bundle). */
  readonly kind: DatabaseSetting['kind'];
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
      this.vpc.addFlowLog('FlowLog', {
        destination: FlowLogDestination.toCloudWatchLogs(
          new LogGroup(this, 'FlowLogs', {
            retention: props.logRetention,
            removalPolicy: props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
          }),
        ),
      });
      this.cluster = new DatabaseCluster(this, 'Cluster', {
        engine: DatabaseClusterEngine.auroraPostgres({
          version: AuroraPostgresEngineVersion.VER_16_6,
        }),
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
        cloudwatchLogsExports: ['postgresql'],
        cloudwatchLogsRetention: props.logRetention,
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
            // Only letters and digits: the migrator turns it into a SCRAM verifier, never SQL.
            excludeCharacters: ' %+~`#$&*()|[]{}:;<>?!\'/@"\\=,.^-_',
          },
        );
        NagSuppressions.addResourceSuppressions(secret, [
          {
            id: 'AwsSolutions-SMG4',
            reason:
              "A function role password, set in PostgreSQL by the migrator on deploy; rotation is the operator's (docs/security.md).",
          },
        ]);
        return secret;
      };
      this.roleSecrets = { read: secretFor('read'), write: secretFor('write') };
      const dataApi = (secretArn: string): Record<string, string> => ({
        DB_CLUSTER_ARN: cluster.clusterArn,
        DB_SECRET_ARN: secretArn,
        DB_NAME: DATABASE_NAME,
      });
      this.environment = dataApi(cluster.secret?.secretArn ?? '');
      this.roleEnvironment = {
        read: dataApi(this.roleSecrets.read.secretArn),
        write: dataApi(this.roleSecrets.write.secretArn),
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
    // What the migrator sets the role passwords from: their secrets (AWS), or the local stage's
    // derived passwords.
    const rolePasswords: Record<string, string> =
      props.database.kind === 'postgres'
        ? {
            ROLE_PASSWORDS: JSON.stringify(
              Object.fromEntries(
                Object.values(DB_ROLES).map((role) => [
                  role,
                  localRolePassword(this.environment.DATABASE_URL ?? '', role),
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
        removalPolicy: props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      }),
    });
    // The hash of every statement and of the role logins: a new migration or a new secret
    // changes it, which re-runs the resource.
    const schemaHash = createHash('sha256')
      .update(JSON.stringify([MIGRATIONS, Object.values(DB_ROLES)]))
      .digest('hex');
    new CustomResource(this, 'Schema', {
      serviceToken: provider.serviceToken,
      properties: {
        schemaHash,
        ...(roleSecrets && {
          roleSecrets: [roleSecrets.read.secretArn, roleSecrets.write.secretArn],
        }),
      },
    });
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
