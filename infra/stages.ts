import { DEFAULT_ALLOWED_CONTENT_TYPES } from '../shared/domain/content-types.ts';

/** Where the metadata lives: Aurora with the Data API in AWS, any PostgreSQL server locally. */
export type DatabaseSetting =
  | { readonly kind: 'aurora'; readonly minCapacity: number; readonly maxCapacity: number }
  | { readonly kind: 'postgres'; readonly url: string };

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
  readonly maxUploadBytes: number;
  /** Files of at least this size are uploaded in parts (resumable); smaller ones by one POST. */
  readonly multipartThresholdBytes: number;
  /** The smallest part the server hands out (≥ 5 MiB); larger when 10,000 parts would not hold a file. */
  readonly multipartMinPartBytes: number;
  /** Days after which the bucket aborts a multipart upload nobody completed, freeing its parts. */
  readonly abortIncompleteMultipartDays: number;
  readonly allowedContentTypes: readonly string[];
  readonly uploadUrlTtlSeconds: number;
  /** Most processor instances at once: it protects the database. */
  readonly processorMaxConcurrency: number;
  readonly processorMemoryMb: number;
  readonly processorTimeoutSeconds: number;
  /** Deliveries before a message goes to the DLQ. */
  readonly maxReceiveCount: number;
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
  /** Where the alarm topic emails (`-c alarmEmail=...`); alarms still go to the topic without one. */
  readonly alarmEmail?: string;
  /**
   * Alarms on metric math (the processor's error rate). MiniStack's CloudFormation refuses them:
   * the local stage alarms on the processor's error count instead.
   */
  readonly metricMathAlarms: boolean;
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
}

const common = {
  maxUploadBytes: 50 * 1024 ** 3,
  multipartThresholdBytes: 100 * 1024 ** 2,
  multipartMinPartBytes: 8 * 1024 ** 2,
  abortIncompleteMultipartDays: 2,
  allowedContentTypes: DEFAULT_ALLOWED_CONTENT_TYPES,
  uploadUrlTtlSeconds: 900,
  processorMemoryMb: 2048,
  processorTimeoutSeconds: 300,
  maxReceiveCount: 3,
  maxIngestAgeSeconds: 900,
  metricMathAlarms: true,
  sourceMaps: false,
  consoleHosting: true,
} as const;

export const STAGES: Readonly<Record<string, StageConfig>> = {
  dev: {
    ...common,
    name: 'dev',
    retainData: false,
    autoDeleteObjects: true,
    architecture: 'arm64',
    corsOrigins: ['http://localhost:5173', 'http://127.0.0.1:5173'],
    processorMaxConcurrency: 5,
    logRetentionDays: 14,
    database: { kind: 'aurora', minCapacity: 0, maxCapacity: 2 },
    eventArchiveDays: 7,
    apiThrottle: { rate: 50, burst: 100 },
  },
  prod: {
    ...common,
    name: 'prod',
    retainData: true,
    autoDeleteObjects: false,
    architecture: 'arm64',
    corsOrigins: [],
    processorMaxConcurrency: 20,
    maxIngestAgeSeconds: 600,
    logRetentionDays: 90,
    database: { kind: 'aurora', minCapacity: 0.5, maxCapacity: 16 },
    eventArchiveDays: 30,
    apiThrottle: { rate: 500, burst: 1000 },
  },
  // The emulator runs functions on this machine's node: x86_64, and PostgreSQL instead of Aurora
  // (the emulator's RDS Data API is a stub). Those two lines are the whole difference.
  local: {
    ...common,
    name: 'local',
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
    // Small enough that the tests exercise parts, resume and completion with files of a few MiB.
    multipartThresholdBytes: 8 * 1024 ** 2,
    multipartMinPartBytes: 5 * 1024 ** 2,
    abortIncompleteMultipartDays: 1,
    processorMaxConcurrency: 2,
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
  },
};

/**
 * The configuration of a stage, with `overrides` (from `-c` context) applied: `corsOrigins`
 * (comma-separated), `notificationSender`, `alarmEmail`, `sourceMaps` (`true` or `false`), and
 * `databaseUrl` and `emulatorEndpoint` for the local stage.
 */
export const stageConfig = (
  name: string,
  overrides: {
    corsOrigins?: string;
    databaseUrl?: string;
    emulatorEndpoint?: string;
    notificationSender?: string;
    alarmEmail?: string;
    sourceMaps?: string;
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
