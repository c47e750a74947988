import { DEFAULT_ALLOWED_CONTENT_TYPES } from '../shared/domain/content-types.ts';
import type { FileKind } from '../shared/domain/kinds.ts';
import type { RequestLimits } from '../shared/domain/request-limits.ts';
import { DEFAULT_VIDEO_LIMITS, type VideoLimits } from '../shared/domain/video.ts';

/** One kind's function and queue (infra/constructs/processing.ts). */
export interface KindSettings {
  readonly memoryMb: number;
  /** The function's timeout; its queue's visibility timeout is six times it. */
  readonly timeoutSeconds: number;
  /** Most instances at once (2..1000): protects the database, and the other kinds' share. */
  readonly maxConcurrency: number;
  /** /tmp for the decompressed file, spill and Parquet (tabular, logs). @default 512 */
  readonly ephemeralStorageMb?: number;
  /** A compressed file stops (REJECTED) once it inflates past this (tabular, logs). */
  readonly maxDecompressedBytes?: number;
  /** DuckDB's memory ceiling inside the function (tabular, logs). */
  readonly duckdbMemoryMb?: number;
}

/** Where log originals go once analysed: a colder S3 storage class after some days. */
export interface LogArchive {
  readonly transitionAfterDays: number;
  readonly storageClass: 'STANDARD_IA' | 'GLACIER_IR' | 'GLACIER';
}

/**
 * Where the metadata lives: Aurora with the Data API in AWS, any PostgreSQL server locally, or
 * (tests) PostgreSQL behind the RDS Data API double, so the functions run the AWS driver.
 */
export type DatabaseSetting =
  | {
      readonly kind: 'aurora';
      readonly minCapacity: number;
      readonly maxCapacity: number;
      /**
       * Where the functions send their Data API calls instead of AWS's endpoint: the deploy
       * rehearsal's Data API double (`-c dataApiEndpoint=...`).
       */
      readonly dataApiEndpoint?: string;
    }
  | { readonly kind: 'postgres'; readonly url: string }
  | {
      readonly kind: 'data-api';
      /** The Data API double's address (test/support/data-api-server.ts). */
      readonly endpoint: string;
      readonly clusterArn: string;
      readonly secretArn: string;
      readonly name: string;
    };

/** The cluster and secret a local stage on the Data API double names (`-c dataApiEndpoint`). */
export const LOCAL_DATA_API = {
  clusterArn: 'arn:aws:rds:us-east-1:000000000000:cluster:syncflow-local',
  /** The admin login, the migrator's. */
  secretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:syncflow-local-db',
  /** The functions' logins, as the roles of migrations/0004_roles.ts. */
  roleSecretArns: {
    read: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:syncflow-local-db-read',
    write: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:syncflow-local-db-write',
  },
} as const;

/** Everything that differs between stages. One object per stage; nothing else branches on the stage name. */
export interface StageConfig {
  readonly name: string;
  /** Keep buckets, tables and the database when the stack goes (prod), or delete them (dev, local). */
  readonly retainData: boolean;
  /** Empty buckets on stack deletion (a CDK custom resource) so a stage that does not retain data can go. */
  readonly autoDeleteObjects: boolean;
  readonly architecture: 'arm64' | 'x86_64';
  /**
   * Browser origins allowed to call the API and upload straight to the bucket (CORS), besides
   * the stage's own console when it hosts one (`consoleHosting`), which comes first.
   */
  readonly corsOrigins: readonly string[];
  /** Serve the web console from a private bucket behind CloudFront (npm start serves it locally). */
  readonly consoleHosting: boolean;
  /**
   * Copy the console's files and config.json into its bucket at deploy (with `consoleHosting`).
   * CDK's BucketDeployment runs the AWS CLI from a Lambda layer that the emulator's functions
   * lack, so the deploy rehearsal hosts the console without copying it.
   */
  readonly consoleAssets: boolean;
  readonly maxUploadBytes: number;
  /** Files of at least this size are uploaded in parts (resumable); smaller ones by one POST. */
  readonly multipartThresholdBytes: number;
  /** The smallest part the server hands out (≥ 5 MiB); larger when 10,000 parts would not hold a file. */
  readonly multipartMinPartBytes: number;
  /** Days after which the bucket aborts a multipart upload nobody completed, freeing its parts. */
  readonly abortIncompleteMultipartDays: number;
  readonly allowedContentTypes: readonly string[];
  /** How long an upload URL may be used; a request may ask for less (`expiresInSeconds`). */
  readonly uploadUrlTtlSeconds: number;
  /** What one user may ask per minute and leave open (429 with Retry-After past them). */
  readonly requestLimits: RequestLimits;
  /** Each kind's function: memory, timeout, concurrency cap, scratch space. */
  readonly processing: Readonly<Record<FileKind, KindSettings>>;
  /** Log originals move to a colder storage class after being analysed (a lifecycle rule). */
  readonly logArchive: LogArchive;
  /** Deliveries before a message goes to the DLQ. */
  readonly maxReceiveCount: number;
  /** How often the sweeper ends files that stopped moving (stuck runs, expired uploads). */
  readonly sweepEveryMinutes: number;
  /**
   * Slack before the sweeper acts: after an upload URL expired, and after a run's deadline
   * (clocks and schedules drift).
   */
  readonly sweepGraceSeconds: number;
  /**
   * Lets files named `fault-crash…`/`fault-crash-once…`/`fault-slow…` crash or slow the
   * processor, to prove the failure paths (shared/processing/faults.ts). Refused at synth time
   * on any stage that is not deployed into an emulator.
   */
  readonly faultInjection: boolean;
  readonly logRetentionDays: number;
  readonly database: DatabaseSetting;
  /** Days the custom bus's archive keeps `file.*` events for replay; 0 for no archive. */
  readonly eventArchiveDays: number;
  /**
   * Where the user pool's signing keys are served, when not at Cognito's own address: the
   * emulator serves them at `{endpoint}/{poolId}/.well-known/jwks.json`.
   */
  readonly keysEndpoint?: string;
  /**
   * The emulator the stage is deployed into, if any: functions reach API Gateway's WebSocket
   * management API at `{endpoint}/_aws/execute-api/{apiId}/{stage}` there.
   */
  readonly emulatorEndpoint?: string;
  /**
   * A verified SES identity (an address or one at a verified domain) to email owners from when a
   * file ends FAILED or REJECTED; no email without one (`-c notificationSender=...`).
   */
  readonly notificationSender?: string;
  /**
   * `create` (the stack makes the SES identity) or `existing` (an identity verified already,
   * perhaps by another stage in the account: SES keeps one identity per address, so a second
   * stack creating it fails). `-c notificationSenderIdentity=existing`. @default 'create'
   */
  readonly notificationSenderIdentity?: 'create' | 'existing';
  /** Where the alarm topic emails (`-c alarmEmail=...`); alarms still go to the topic without one. */
  readonly alarmEmail?: string;
  /**
   * Alarms on metric math (the processor's error rate). MiniStack's CloudFormation refuses them:
   * the local stage alarms on the processor's error count instead.
   */
  readonly metricMathAlarms: boolean;
  /** The database VPC's flow logs (MiniStack's CloudFormation has no AWS::EC2::FlowLog). */
  readonly vpcFlowLogs: boolean;
  /**
   * Aurora's PostgreSQL log exported to CloudWatch with the stage's retention. The retention is
   * set by CDK's LogRetention function, which needs the AWS SDK the emulator's Node.js lacks.
   */
  readonly databaseLogExports: boolean;
  /** The oldest message in the ingest queue older than this raises an alarm. */
  readonly maxIngestAgeSeconds: number;
  /** Requests per second and burst for the REST API. */
  readonly apiThrottle: { readonly rate: number; readonly burst: number };
  /**
   * Ship source maps with every function and turn Node.js's source-map support on, so stack
   * traces point into the TypeScript sources (`-c sourceMaps=true`). Off by default: Node.js
   * reads and parses the map while it loads the bundle, which adds about 0.25 to an API
   * function's init ratio (docs/benchmarks.md); function names survive without it.
   */
  readonly sourceMaps: boolean;
  /** How videos are processed (issue 15; infra/constructs/video-workflow.ts). */
  readonly video: VideoStageSettings;
}

/** A stage's video settings: which transcoder, which limits, how long one transcode may run. */
export interface VideoStageSettings {
  /**
   * `mediaconvert` (AWS Elemental MediaConvert through Step Functions' `.sync` integration) or
   * `local` (ffmpeg on this machine, in a function: the emulator has no MediaConvert).
   */
  readonly transcoder: 'mediaconvert' | 'local';
  readonly limits: VideoLimits;
  /** The transcode task's timeout; a local transcode runs in one function, 15 minutes at most. */
  readonly transcodeTimeoutMinutes: number;
  /**
   * Registers MediaConvert's job template in the stack (with `mediaconvert`). Jobs carry their
   * complete settings, so they run the same without it; MiniStack's CloudFormation has no
   * `AWS::MediaConvert::JobTemplate`, so the deploy rehearsal goes without.
   */
  readonly mediaConvertJobTemplate: boolean;
}

const common = {
  maxUploadBytes: 50 * 1024 ** 3,
  multipartThresholdBytes: 100 * 1024 ** 2,
  multipartMinPartBytes: 8 * 1024 ** 2,
  abortIncompleteMultipartDays: 2,
  allowedContentTypes: DEFAULT_ALLOWED_CONTENT_TYPES,
  uploadUrlTtlSeconds: 900,
  requestLimits: { uploadsPerMinute: 600, reprocessPerMinute: 60, pendingUploads: 1000 },
  logArchive: { transitionAfterDays: 30, storageClass: 'GLACIER_IR' },
  // Five deliveries, as AWS advises for a queue feeding Lambda: a throttled invocation (a new
  // account's concurrency quota is below the processor's cap) also costs a delivery.
  maxReceiveCount: 5,
  sweepEveryMinutes: 5,
  sweepGraceSeconds: 300,
  faultInjection: false,
  maxIngestAgeSeconds: 900,
  metricMathAlarms: true,
  vpcFlowLogs: true,
  databaseLogExports: true,
  sourceMaps: false,
  consoleHosting: true,
  consoleAssets: true,
  video: {
    transcoder: 'mediaconvert',
    limits: DEFAULT_VIDEO_LIMITS,
    transcodeTimeoutMinutes: 180,
    mediaConvertJobTemplate: true,
  } satisfies VideoStageSettings,
} as const;

/**
 * Each kind's function in AWS. Tabular and log files may be gigabytes: 15 minutes, 10 GiB of
 * /tmp (the decompressed file's spill plus its Parquet must fit), and memory for DuckDB's ceiling
 * plus the Node.js heap (the 1 GiB benchmarks peak under 600 MB). Images decode in memory.
 */
const processingFor = (concurrency: Record<FileKind, number>): Record<FileKind, KindSettings> => {
  const analytics = {
    memoryMb: 2048,
    timeoutSeconds: 900,
    ephemeralStorageMb: 10240,
    maxDecompressedBytes: 6 * 1024 ** 3,
    duckdbMemoryMb: 512,
  };
  return {
    image: { memoryMb: 2048, timeoutSeconds: 300, maxConcurrency: concurrency.image },
    tabular: { ...analytics, maxConcurrency: concurrency.tabular },
    logs: { ...analytics, maxConcurrency: concurrency.logs },
    other: { memoryMb: 512, timeoutSeconds: 300, maxConcurrency: concurrency.other },
    // Hashes the whole original (streamed: memory buys network throughput, and a 50 GiB upload
    // takes minutes), then starts the video workflow, which does the media work.
    video: { memoryMb: 1024, timeoutSeconds: 900, maxConcurrency: concurrency.video },
  };
};

const prod: StageConfig = {
  ...common,
  name: 'prod',
  retainData: true,
  autoDeleteObjects: false,
  architecture: 'arm64',
  corsOrigins: [],
  processing: processingFor({ image: 20, tabular: 5, logs: 5, other: 10, video: 5 }),
  maxIngestAgeSeconds: 600,
  logRetentionDays: 90,
  database: { kind: 'aurora', minCapacity: 0.5, maxCapacity: 16 },
  eventArchiveDays: 30,
  apiThrottle: { rate: 500, burst: 1000 },
};

export const STAGES: Readonly<Record<string, StageConfig>> = {
  dev: {
    ...common,
    name: 'dev',
    retainData: false,
    autoDeleteObjects: true,
    architecture: 'arm64',
    corsOrigins: ['http://localhost:5173', 'http://127.0.0.1:5173'],
    processing: processingFor({ image: 5, tabular: 2, logs: 2, other: 2, video: 2 }),
    logRetentionDays: 14,
    database: { kind: 'aurora', minCapacity: 0, maxCapacity: 2 },
    eventArchiveDays: 7,
    apiThrottle: { rate: 50, burst: 100 },
  },
  prod,
  // The emulator runs functions on this machine's node: x86_64, and PostgreSQL instead of Aurora
  // (the emulator's RDS Data API is a stub). The other differences below say why each is there.
  local: {
    ...common,
    name: 'local',
    // Three: the end-to-end suite watches a poisoned message reach the DLQ.
    maxReceiveCount: 3,
    retainData: false,
    // CDK's auto-delete handler expects the AWS SDK preinstalled, which the emulator lacks (the
    // deploy would hang); the local stack is reset with the emulator instead.
    autoDeleteObjects: false,
    // npm start serves the console on loopback; the emulator's CloudFront serves nothing.
    consoleHosting: false,
    architecture: 'x86_64',
    // npm start serves the console from its own loopback origin and deploys with that origin
    // (-c corsOrigins=...); a deploy without it accepts any origin.
    corsOrigins: ['*'],
    maxUploadBytes: 2 * 1024 ** 3,
    // Bulk uploads from one machine (the CLI) go faster than a person's; reprocess stays low
    // enough that the end-to-end suite reaches the limit.
    requestLimits: { uploadsPerMinute: 6000, reprocessPerMinute: 30, pendingUploads: 2000 },
    // Small enough that the tests exercise parts, resume and completion with files of a few MiB.
    multipartThresholdBytes: 8 * 1024 ** 2,
    multipartMinPartBytes: 5 * 1024 ** 2,
    abortIncompleteMultipartDays: 1,
    // Files here are small and the machine is near: a short timeout ends a stuck run (and so
    // the end-to-end test of one) in seconds, not minutes. The converters get longer (a
    // benchmark converts many large CSVs at once on two cores), and a small inflation limit,
    // so a gzip bomb stops long before it fills this machine's disk.
    processing: {
      image: { memoryMb: 2048, timeoutSeconds: 30, maxConcurrency: 2 },
      tabular: {
        memoryMb: 1024,
        timeoutSeconds: 120,
        maxConcurrency: 2,
        maxDecompressedBytes: 64 * 1024 ** 2,
        duckdbMemoryMb: 256,
      },
      logs: {
        memoryMb: 1024,
        timeoutSeconds: 120,
        maxConcurrency: 2,
        maxDecompressedBytes: 64 * 1024 ** 2,
        duckdbMemoryMb: 256,
      },
      other: { memoryMb: 512, timeoutSeconds: 30, maxConcurrency: 2 },
      video: { memoryMb: 512, timeoutSeconds: 60, maxConcurrency: 2 },
    },
    sweepEveryMinutes: 1,
    sweepGraceSeconds: 5,
    faultInjection: true,
    logRetentionDays: 1,
    database: { kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5433/postgres' },
    // MiniStack's CloudFormation has no AWS::Events::Archive, nor metric-math alarms.
    eventArchiveDays: 0,
    metricMathAlarms: false,
    keysEndpoint: 'http://127.0.0.1:4566',
    emulatorEndpoint: 'http://127.0.0.1:4566',
    // The emulator's SES keeps what is sent for inspection, so the local stack emails too.
    notificationSender: 'notifications@syncflow.local',
    apiThrottle: { rate: 100, burst: 200 },
    // The emulator has no MediaConvert: ffmpeg on this machine, in one function run, so files
    // short enough to transcode within its 15 minutes on a laptop.
    video: {
      transcoder: 'local',
      limits: { maxDurationSeconds: 30 * 60, maxFrameSide: 4096, maxFramePixels: 4096 * 2160 },
      transcodeTimeoutMinutes: 15,
      mediaConvertJobTemplate: false,
    },
  },
  // prod as the emulator can deploy it, for `npm run rehearse` (scripts/rehearse.ts): a first
  // deploy into an empty account, to catch ordering and dependency mistakes. It differs from
  // prod only where the emulator cannot follow, each listed in docs/deploy.md: x86_64 (functions
  // run on this machine's Node.js), no event archive, no metric-math alarm and no VPC flow log
  // (its CloudFormation has none of them), no export of Aurora's log (its retention is set by a
  // CDK function that needs the AWS SDK the emulator's Node.js lacks), no MediaConvert job template (its
  // CloudFormation has no AWS::MediaConvert::JobTemplate), Cognito's keys served by the emulator, and the functions' Data
  // API calls sent to the Data API double (`-c dataApiEndpoint`), whose PostgreSQL stands in for
  // the Aurora cluster the emulator only pretends to make.
  'prod-rehearsal': {
    ...prod,
    name: 'prod-rehearsal',
    architecture: 'x86_64',
    eventArchiveDays: 0,
    metricMathAlarms: false,
    vpcFlowLogs: false,
    databaseLogExports: false,
    keysEndpoint: 'http://127.0.0.1:4566',
    emulatorEndpoint: 'http://127.0.0.1:4566',
    // MediaConvert as in prod (the state machine waits on CreateJob.sync), without the job
    // template the emulator's CloudFormation does not know; jobs carry complete settings.
    video: { ...prod.video, mediaConvertJobTemplate: false },
    // The console's bucket and distribution as in prod, its files not copied in (no AWS CLI
    // layer for CDK's BucketDeployment in the emulator).
    consoleAssets: false,
  },
};

/**
 * The configuration of a stage, with `overrides` (from `-c` context) applied: `corsOrigins`
 * (comma-separated), `notificationSender`, `notificationSenderIdentity` (`create` or `existing`),
 * `alarmEmail`, `sourceMaps` (`true` or `false`), `databaseUrl` and `emulatorEndpoint` for the
 * local stage, and `dataApiEndpoint` (with `dataApiDatabase`): the local stage's functions then
 * reach PostgreSQL through the Data API double at that address, and an Aurora stage's functions
 * send their Data API calls there (the deploy rehearsal).
 */
export const stageConfig = (
  name: string,
  overrides: {
    corsOrigins?: string;
    databaseUrl?: string;
    emulatorEndpoint?: string;
    notificationSender?: string;
    notificationSenderIdentity?: string;
    alarmEmail?: string;
    sourceMaps?: string;
    dataApiEndpoint?: string;
    dataApiDatabase?: string;
  } = {},
): StageConfig => {
  const base = STAGES[name];
  if (!base) {
    throw new Error(
      `Unknown stage ${JSON.stringify(name)}; use one of ${Object.keys(STAGES).join(', ')} (-c stage=...)`,
    );
  }
  let config: StageConfig = base;
  if (overrides.corsOrigins !== undefined) {
    config = {
      ...config,
      corsOrigins: overrides.corsOrigins
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    };
  }
  if (overrides.databaseUrl !== undefined) {
    if (config.database.kind !== 'postgres') {
      throw new Error(
        `Stage ${name} uses Aurora; databaseUrl applies only to a stage on PostgreSQL`,
      );
    }
    config = { ...config, database: { kind: 'postgres', url: overrides.databaseUrl } };
  }
  if (overrides.dataApiEndpoint !== undefined) {
    const endpoint = overrides.dataApiEndpoint.trim();
    if (!/^https?:\/\/[^\s/]+\/?$/.test(endpoint)) {
      throw new Error(`dataApiEndpoint ${JSON.stringify(endpoint)} is not an http(s) address`);
    }
    config = {
      ...config,
      database:
        config.database.kind === 'aurora'
          ? { ...config.database, dataApiEndpoint: endpoint }
          : {
              kind: 'data-api',
              endpoint,
              ...LOCAL_DATA_API,
              name: overrides.dataApiDatabase ?? 'postgres',
            },
    };
  }
  if (overrides.emulatorEndpoint !== undefined) {
    config = {
      ...config,
      keysEndpoint: overrides.emulatorEndpoint,
      emulatorEndpoint: overrides.emulatorEndpoint,
    };
  }
  if (overrides.alarmEmail !== undefined) {
    const email = overrides.alarmEmail.trim();
    if (email !== '' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
      throw new Error(`alarmEmail ${JSON.stringify(email)} is not an email address`);
    }
    config = { ...config, alarmEmail: email === '' ? undefined : email };
  }
  if (overrides.notificationSender !== undefined) {
    const sender = overrides.notificationSender.trim();
    if (sender !== '' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(sender)) {
      throw new Error(`notificationSender ${JSON.stringify(sender)} is not an email address`);
    }
    config = { ...config, notificationSender: sender === '' ? undefined : sender };
  }
  if (overrides.notificationSenderIdentity !== undefined) {
    const value = overrides.notificationSenderIdentity.trim();
    if (value !== 'create' && value !== 'existing') {
      throw new Error(
        `notificationSenderIdentity must be create or existing, not ${JSON.stringify(value)}`,
      );
    }
    config = { ...config, notificationSenderIdentity: value };
  }
  if (overrides.sourceMaps !== undefined) {
    const value = overrides.sourceMaps.trim().toLowerCase();
    if (value !== 'true' && value !== 'false') {
      throw new Error(
        `sourceMaps must be true or false, not ${JSON.stringify(overrides.sourceMaps)}`,
      );
    }
    config = { ...config, sourceMaps: value === 'true' };
  }
  return config;
};
