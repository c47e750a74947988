import type { StageConfig } from '../../infra/stages.ts';
import { FILE_KINDS } from '../../shared/domain/kinds.ts';

/**
 * The cost model behind `npm run cost` and docs/cost.md: what one file of each kind uses in
 * AWS, from the figures measured in docs/benchmarks.md and the stage's own settings
 * (infra/stages.ts), priced at the published us-east-1 rates. Pure: no clock, no network, no
 * files; every figure it does not compute from a stage comes from the tables below, each with
 * where it came from.
 */

/** The kinds of file the model prices. `csv` is the tabular kind, `log` the logs kind. */
export const COST_KINDS = ['image', 'csv', 'log', 'video'] as const;
export type CostKind = (typeof COST_KINDS)[number];

/** The size of one file of each kind the issue asks about, in bytes (decimal MB). */
export const FILE_BYTES: Readonly<Record<CostKind, number>> = {
  image: 4e6,
  csv: 50e6,
  log: 100e6,
  // A minute at the web rendition's ceiling of 5 Mb/s (issue 15's WEB_RENDITION.maxBitRate):
  // the original's size is the user's and is not measured.
  video: (5e6 / 8) * 60,
};

/** The day the prices below were read, and the region they are for. */
export const PRICES_READ_ON = '2026-12-01';
export const PRICE_REGION = 'us-east-1';

export interface Price {
  readonly usd: number;
  /** What one `usd` buys. */
  readonly per: string;
  /** The page the price was read from (a stored copy, found with the search tool). */
  readonly source: string;
  /** Where the figure is weaker than a price page read for us-east-1 on PRICES_READ_ON. */
  readonly caveat?: string;
}

const M = 1e6;

/** us-east-1 on-demand prices. Free tiers are left out: a stage shares its account's. */
export const PRICES = {
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    per: 'GB-second (arm64, first 7.5 billion a month)',
    source:
      'Cloudchipr, "AWS Lambda Pricing Breakdown" (US East); the same figure in a Lambda cost note of the lambda_local_runner project',
  },
  lambdaX86GbSecond: {
    usd: 0.0000166667,
    per: 'GB-second (x86_64, first 6 billion a month)',
    source: 'Cloudchipr, "AWS Lambda Pricing Breakdown" (US East)',
  },
  lambdaRequest: {
    usd: 0.2 / M,
    per: 'request',
    source: 'AWS Lambda pricing page; Cloudchipr, "AWS Lambda Pricing Breakdown"',
  },
  restApiRequest: {
    usd: 3.5 / M,
    per: 'REST API request (first 333 million a month)',
    source: 'AWS for Engineers, "AWS API Gateway Pricing Explained" (2025-05-19), US East table',
  },
  webSocketMessage: {
    usd: 1 / M,
    per: 'WebSocket message, in 32 KB units (first billion a month)',
    source:
      'AWS for Engineers, "AWS API Gateway Pricing Explained"; Amazon API Gateway pricing page (32 KB metering)',
  },
  webSocketConnectionMinute: {
    usd: 0.25 / M,
    per: 'WebSocket connection-minute',
    source: 'figure given in the issue brief',
    caveat:
      'not found in the stored copies of the pricing page (its table did not render there); not used per file',
  },
  auroraAcuHour: {
    usd: 0.12,
    per: 'Aurora Serverless v2 ACU-hour',
    source:
      'C3X, "Aurora Serverless v2 cost: what an ACU really costs you" (us-east-1); AWS Negotiations, "Aurora Serverless v2 Pricing" (May 2026)',
  },
  auroraStorageGbMonth: {
    usd: 0.1,
    per: 'GB-month of Aurora storage (Standard configuration)',
    source:
      'AWS Negotiations, "Aurora Serverless v2 Pricing: When Elasticity Pays Back" (May 2026)',
  },
  dataApiRequest: {
    usd: 0.42 / M,
    per: 'RDS Data API request (first billion a month)',
    source: 'hirooka622, "RDS Proxy vs RDS Data API" on Qiita (April 2024)',
    caveat:
      'the only Data API price found; the page does not name its region (it reads like Tokyo), so this is likely above us-east-1',
  },
  s3StandardGbMonth: {
    usd: 0.023,
    per: 'GB-month of S3 Standard (first 50 TB)',
    source:
      'devnotes.tech, "Understanding AWS S3 Pricing" (US East); deepeshsoni.com, "Understanding Amazon S3 Pricing"',
  },
  s3PutRequest: {
    usd: 0.005 / 1000,
    per: 'S3 PUT, COPY, POST or LIST request',
    source: 'devnotes.tech, "Understanding AWS S3 Pricing"',
  },
  s3GetRequest: {
    usd: 0.0004 / 1000,
    per: 'S3 GET request',
    source: 'devnotes.tech, "Understanding AWS S3 Pricing"',
  },
  sqsRequest: {
    usd: 0.4 / M,
    per: 'SQS standard request, in 64 KB units (first 100 billion a month)',
    source:
      'CloudBurn, "Amazon SQS Pricing" (March 2026, US East); FactualMinds, "Amazon SQS Pricing" (June 2026)',
  },
  eventBridgeCustomEvent: {
    usd: 1 / M,
    per: 'custom event put on a bus, in 64 KB units (AWS service events on the default bus are free)',
    source:
      'CloudBurn, "Amazon EventBridge Pricing" (March 2026); FactualMinds, "Amazon EventBridge Pricing" (June 2026, us-east-1)',
  },
  eventArchiveGb: {
    usd: 0.1,
    per: 'GB of events archived',
    source: 'CloudBurn, "Amazon EventBridge Pricing" (March 2026)',
  },
  dynamoWriteRequest: {
    usd: 0.625 / M,
    per: 'DynamoDB on-demand write request unit (1 KB)',
    source:
      'Airbyte, "Amazon DynamoDB Pricing" (July 2025, US East, after the November 2024 reduction)',
  },
  dynamoReadRequest: {
    usd: 0.125 / M,
    per: 'DynamoDB on-demand read request unit (4 KB)',
    source: 'Airbyte, "Amazon DynamoDB Pricing" (July 2025, US East)',
  },
  stepFunctionsTransition: {
    usd: 0.025 / 1000,
    per: 'Step Functions Standard state transition',
    source: 'AWS Step Functions pricing page (US East (N. Virginia) row)',
  },
  mediaConvertMinute: {
    usd: 0.03,
    per: 'MediaConvert output minute, HD',
    source:
      'a 2021 note quoting the MediaConvert pricing page (HD, more than 30 fps: $0.03 a minute)',
    caveat:
      'the current Basic-tier rate per normalised minute was not found in any stored page; this older HD rate is used as an upper bound',
  },
  logsIngestGb: {
    usd: 0.5,
    per: 'GB of CloudWatch Logs ingested (Standard class)',
    source:
      'C3X, "CloudWatch Logs cost optimization" (us-east-1, June 2026); Hykell, "Amazon CloudWatch Logs pricing"',
  },
  logsStorageGbMonth: {
    usd: 0.03,
    per: 'GB-month of CloudWatch Logs stored',
    source: 'C3X, "CloudWatch Logs cost optimization" (June 2026)',
  },
  alarmMetricMonth: {
    usd: 0.1,
    per: 'standard-resolution alarm metric-month',
    source: 'C3X, "aws_cloudwatch_metric_alarm cost estimation"',
  },
  dashboardMonth: {
    usd: 3,
    per: 'CloudWatch dashboard-month',
    source: 'FactualMinds, "Amazon CloudWatch Pricing" (June 2026)',
  },
  customMetricMonth: {
    usd: 0.3,
    per: 'CloudWatch custom metric-month (first 10,000)',
    source: 'SigNoz, "CloudWatch Pricing Without the Confusion" (February 2026)',
  },
  xrayTrace: {
    usd: 5 / M,
    per: 'X-Ray trace recorded',
    source:
      'AWS X-Ray pricing page (stored in German: 5 USD per million recorded traces); AWS Negotiations, "AWS X-Ray Pricing Strategy" (US East)',
  },
  secretMonth: {
    usd: 0.4,
    per: 'Secrets Manager secret-month',
    source: 'Hivebook, "AWS Secrets Manager" ($0.40 per secret per month, $0.05 per 10,000 calls)',
  },
} as const satisfies Record<string, Price>;

export type PriceName = keyof typeof PRICES;

export interface Measured {
  readonly value: number;
  readonly unit: string;
  /** Where the figure was measured (docs/benchmarks.md unless said otherwise). */
  readonly source: string;
}

/**
 * What was measured on this machine (2 cores, x86_64, Node.js 20; Lambda's arm64 cores are not
 * the same, so every duration here is this machine's, not AWS's).
 */
export const MEASURED = {
  imageCpuMs: {
    value: 138.2,
    unit: 'ms of CPU for a 12 MP, 4.11 MiB JPEG',
    source: 'pipeline-jpeg-12mp',
  },
  imageDerivativeBytes: {
    value: 672 + 43_695,
    unit: 'bytes of thumbnail (672) and preview (43,695) of the same photo',
    source: 'test/unit/functions/cost-counts.test.ts',
  },
  csvMibPerSecond: {
    value: 17.5,
    unit: 'MiB/s of CSV to Parquet',
    source: 'etl-csv-1gib',
  },
  logMibPerSecond: {
    value: 7.7,
    unit: 'MiB/s of nginx log analysed and written as Parquet',
    source: 'logs-1gib',
  },
  hashMibPerSecond: {
    value: 1349,
    unit: 'MiB/s of bytes hashed and sniffed in a stream',
    source: 'stream-1gib',
  },
  ioMs: {
    value: 108,
    unit: 'ms from an upload to its PROCESSED record (p50, small JPEGs on the local stack)',
    source:
      'e2e-latency; counted as each processor run’s own I/O, an upper bound since it includes the delivery',
  },
  smallFunctionMs: {
    value: 68,
    unit: 'ms, upload-api’s duration at p50 on the local stack under load',
    source: 'cli-bulk; used for every small function (authorizer, files-api, notifier, ...)',
  },
  uploadStatements: {
    value: 1,
    unit: 'SQL statements of POST /uploads',
    source: 'test/unit/functions/cost-counts.test.ts',
  },
  processorStatements: {
    value: 4,
    unit: 'SQL statements of a processor run (read, claim, finish, mark published)',
    source: 'test/unit/functions/cost-counts.test.ts',
  },
  idempotencyWrites: {
    value: 2,
    unit: 'DynamoDB writes of under 1 KB per processor run (Powertools: in progress, completed)',
    source: 'test/unit/functions/cost-counts.test.ts',
  },
  eventBytes: {
    value: 1196,
    unit: 'bytes of one file.processed PutEvents entry',
    source: 'test/unit/functions/cost-counts.test.ts',
  },
  recordBytes: {
    value: 1252,
    unit: 'bytes of an image’s record as JSON',
    source: 'test/unit/functions/cost-counts.test.ts',
  },
  logLineBytes: {
    value: 468,
    unit: 'bytes of the one INFO line a function writes per file',
    source: 'docs/cost.md, "Measured for this model"',
  },
  videoProbeSeconds: {
    value: 0.6,
    unit: 's of a first probe (WASM compile included) from the emulator’s S3',
    source: 'issue 15’s video notes, "Cost per minute of video in AWS"',
  },
  videoProbeGets: {
    value: 15,
    unit: 'ranged GETs of a probe (1 GiB MP4)',
    source: 'issue 15’s video notes',
  },
  videoTransitions: {
    value: 7,
    unit: 'state transitions of a video’s execution',
    source: 'issue 15’s video notes (execution histories of the emulator test)',
  },
} as const satisfies Record<string, Measured>;

/**
 * What the model takes where nothing was measured: each is said in docs/cost.md and printed with
 * the results, and each leans towards the higher cost.
 */
/**
 * Events a file puts on the bus for its owner's screens, each pushed by the notifier: the run's
 * start (`file.processing`) and its end. A retry or a reprocess adds a start; not counted.
 */
export const PUSHES_PER_FILE = 2;

export const ASSUMED = {
  /** Times a user opens a file (GET /files/{fileId}, then its thumbnail from S3). */
  readsPerFile: 1,
  /** Connections the owner has open when the event is pushed. */
  connectionsPerOwner: 1,
  /** Each processor and notifier invocation takes one message (batches only lower the cost). */
  messagesPerInvocation: 1,
  /** Every REST request invokes the authorizer (its 5-minute cache only lowers the cost). */
  authorizerPerRequest: 1,
  /** Share of traces X-Ray records: all, under its reservoir of one a second (1e6/month is 0.4/s). */
  xraySampled: 1,
  /** Lambda's own start and report records per invocation (JSON log format). */
  platformLogBytes: 600,
  /** An API Gateway access-log line, as long as a function's line. */
  accessLogBytes: 468,
  /** Parquet written per CSV or log file, as a share of its size (not measured: at most this). */
  parquetShare: 1,
  /** Bytes a tabular or log file's record keeps: its summary's cap of 48 KiB. */
  analyticsRecordBytes: 48 * 1024,
  /** Index and row overhead of a record, as a share of its JSON size. */
  recordOverhead: 1,
  /** Parquet objects a log file writes (one per event date; a 100 MB log spans about a day). */
  logPartitions: 1,
  /** MediaConvert status updates a minute of video makes (one every 10 s of the video). */
  videoProgressUpdates: 6,
  /** JPEG frames the transcode captures and the poster step reads, then removes. */
  videoFrames: 6,
  /** Lambda pollers long-polling each queue with an event source mapping, three times a minute. */
  idlePollersPerQueue: 5,
  /** SQL statements of one sweep (unfinished files: four queries; request counts pruned: one). */
  sweepStatements: 5,
} as const;

/** The services a line is billed under, in the order the table prints them. */
export const SERVICES = [
  'API Gateway REST',
  'API Gateway WebSocket',
  'Lambda',
  'S3 requests',
  'SQS',
  'EventBridge',
  'DynamoDB',
  'RDS Data API',
  'Step Functions',
  'MediaConvert',
  'CloudWatch Logs',
  'X-Ray',
  'S3 storage',
  'Aurora',
  'CloudWatch',
  'Secrets Manager',
] as const;
export type Service = (typeof SERVICES)[number];

/** One billed quantity: `usd` is `quantity` at `price`. */
export interface Line {
  readonly service: Service;
  readonly item: string;
  readonly quantity: number;
  readonly price: PriceName;
  readonly usd: number;
}

const line = (service: Service, item: string, quantity: number, price: PriceName): Line => ({
  service,
  item,
  quantity,
  price,
  usd: quantity * PRICES[price].usd,
});

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const HOURS_PER_MONTH = 730;
const MINUTES_PER_MONTH = HOURS_PER_MONTH * 60;

/** One Lambda function's share of a file: its requests and GB-seconds. */
const lambda = (
  stage: StageConfig,
  name: string,
  memoryMb: number,
  seconds: number,
  invocations: number,
): Line[] => [
  line('Lambda', `${name}: requests`, invocations, 'lambdaRequest'),
  line(
    'Lambda',
    `${name}: GB-seconds (${memoryMb} MB × ${seconds.toFixed(3)} s)`,
    invocations * (memoryMb / 1024) * seconds,
    stage.architecture === 'arm64' ? 'lambdaArmGbSecond' : 'lambdaX86GbSecond',
  ),
];

/** CloudWatch Logs of `invocations` function runs and `requests` access-log lines, kept for the stage's retention. */
const logs = (stage: StageConfig, invocations: number, requests: number): Line[] => {
  const gb =
    (invocations * (ASSUMED.platformLogBytes + MEASURED.logLineBytes.value) +
      requests * ASSUMED.accessLogBytes) /
    GIB;
  return [
    line('CloudWatch Logs', 'log data ingested (GB)', gb, 'logsIngestGb'),
    line(
      'CloudWatch Logs',
      `log data kept ${stage.logRetentionDays} days (GB-months)`,
      gb * (stage.logRetentionDays / 30),
      'logsStorageGbMonth',
    ),
  ];
};

/** What every kind shares: the upload request, the read, the event, the push. */
const common = (stage: StageConfig, kind: CostKind): Line[] => {
  const small = MEASURED.smallFunctionMs.value / 1000;
  const apiRequests = 1 + ASSUMED.readsPerFile;
  const eventUnits = Math.ceil(MEASURED.eventBytes.value / (64 * 1024));
  return [
    line(
      'API Gateway REST',
      'POST /uploads and GET /files/{fileId}',
      apiRequests,
      'restApiRequest',
    ),
    ...lambda(stage, 'authorizer', 512, small, apiRequests * ASSUMED.authorizerPerRequest),
    ...lambda(stage, 'upload-api', 512, small, 1),
    ...lambda(stage, 'files-api', 512, small, ASSUMED.readsPerFile),
    ...lambda(stage, 'notifier', 512, small, PUSHES_PER_FILE / ASSUMED.messagesPerInvocation),
    line('S3 requests', 'the upload (presigned POST)', 1, 's3PutRequest'),
    line('S3 requests', 'thumbnail downloads', ASSUMED.readsPerFile, 's3GetRequest'),
    // Send, receive and delete on the kind's queue, and on the notifications queue per push.
    line(
      'SQS',
      "send, receive, delete on the kind's queue and per push",
      (3 + 3 * PUSHES_PER_FILE) / ASSUMED.messagesPerInvocation,
      'sqsRequest',
    ),
    line(
      'EventBridge',
      `file.processing and the end event on the custom bus (${kind})`,
      eventUnits * PUSHES_PER_FILE,
      'eventBridgeCustomEvent',
    ),
    ...(stage.eventArchiveDays > 0
      ? [
          line(
            'EventBridge',
            'event archived (GB)',
            MEASURED.eventBytes.value / GIB,
            'eventArchiveGb',
          ),
        ]
      : []),
    line(
      'DynamoDB',
      'idempotency record written twice',
      MEASURED.idempotencyWrites.value,
      'dynamoWriteRequest',
    ),
    line(
      'DynamoDB',
      "owner's connections read by the notifier",
      PUSHES_PER_FILE,
      'dynamoReadRequest',
    ),
    line(
      'RDS Data API',
      'statements: upload 1, processor 4, read 1',
      MEASURED.uploadStatements.value + MEASURED.processorStatements.value + ASSUMED.readsPerFile,
      'dataApiRequest',
    ),
    line(
      'API Gateway WebSocket',
      'messages pushed to the owner (start and end)',
      ASSUMED.connectionsPerOwner * PUSHES_PER_FILE,
      'webSocketMessage',
    ),
  ];
};

/** The processor function of a queue kind, by the stage's settings for that kind. */
const processorLines = (
  stage: StageConfig,
  kind: 'image' | 'csv' | 'log',
): { lines: Line[]; seconds: number } => {
  const io = MEASURED.ioMs.value / 1000;
  const mib = FILE_BYTES[kind] / MIB;
  const settings =
    kind === 'image'
      ? stage.processing.image
      : kind === 'csv'
        ? stage.processing.tabular
        : stage.processing.logs;
  const seconds =
    kind === 'image'
      ? MEASURED.imageCpuMs.value / 1000 + io
      : kind === 'csv'
        ? mib / MEASURED.csvMibPerSecond.value + io
        : mib / MEASURED.logMibPerSecond.value + io;
  return {
    seconds,
    lines: lambda(
      stage,
      `process-${kind === 'image' ? 'image' : kind === 'csv' ? 'tabular' : 'logs'}`,
      settings.memoryMb,
      seconds,
      1 / ASSUMED.messagesPerInvocation,
    ),
  };
};

/** The one-off cost of one file of `kind`: everything but what is kept month after month. */
export const fileLines = (stage: StageConfig, kind: CostKind): Line[] => {
  const shared = common(stage, kind);
  const apiRequests = 1 + ASSUMED.readsPerFile;
  // Function runs a file makes besides its kind's own: authorizer, upload-api, files-api, notifier.
  const sharedRuns =
    apiRequests * ASSUMED.authorizerPerRequest + 1 + ASSUMED.readsPerFile + PUSHES_PER_FILE;
  // Traces: the upload request, the read, the processor's run, the notifier's runs.
  const sharedTraces = apiRequests + 1 + PUSHES_PER_FILE;
  if (kind === 'video') {
    const small = MEASURED.smallFunctionMs.value / 1000;
    const io = MEASURED.ioMs.value / 1000;
    const hash = FILE_BYTES.video / MIB / MEASURED.hashMibPerSecond.value + io;
    const runs = 1 + 1 + 1 + 1 + 1 + 1 + ASSUMED.videoProgressUpdates;
    return [
      ...shared,
      // The kind's queue function hashes, sniffs and starts the workflow, as `other` does.
      ...lambda(stage, 'process-video', 512, hash, 1),
      ...lambda(stage, 'video-probe', 512, MEASURED.videoProbeSeconds.value, 1),
      // One CopyObject of the checked version for MediaConvert to read: S3 copies, the function waits.
      ...lambda(stage, 'video-stage-source', 512, small + io, 1),
      // Six frames decoded and two images written: counted as an image's pipeline and I/O.
      ...lambda(stage, 'video-poster', 1024, MEASURED.imageCpuMs.value / 1000 + io, 1),
      ...lambda(stage, 'video-record', 512, small, 1),
      ...lambda(stage, 'video-publish', 512, small, 1),
      ...lambda(stage, 'video-progress', 512, small, ASSUMED.videoProgressUpdates),
      line(
        'Step Functions',
        'state transitions (the emulator’s, plus StageSource, which only AWS runs)',
        MEASURED.videoTransitions.value + 1,
        'stepFunctionsTransition',
      ),
      line('MediaConvert', 'output minutes (web.mp4, HD at most)', 1, 'mediaConvertMinute'),
      line(
        'S3 requests',
        'GETs: hash 1, probe 15, MediaConvert 1, frames 6',
        1 + MEASURED.videoProbeGets.value + 1 + ASSUMED.videoFrames,
        's3GetRequest',
      ),
      line(
        'S3 requests',
        'PUTs: staged copy, rendition, frames 6, poster 2',
        1 + 1 + ASSUMED.videoFrames + 2,
        's3PutRequest',
      ),
      line(
        'RDS Data API',
        'statements: probe, progress, record',
        2 + ASSUMED.videoProgressUpdates,
        'dataApiRequest',
      ),
      line(
        'API Gateway WebSocket',
        'file.progress messages',
        ASSUMED.videoProgressUpdates,
        'webSocketMessage',
      ),
      line(
        'EventBridge',
        'file.progress events',
        ASSUMED.videoProgressUpdates,
        'eventBridgeCustomEvent',
      ),
      ...logs(stage, sharedRuns + runs, apiRequests),
      line('X-Ray', 'traces recorded', (sharedTraces + runs) * ASSUMED.xraySampled, 'xrayTrace'),
    ];
  }
  const processor = processorLines(stage, kind);
  const kindLines =
    kind === 'image'
      ? [
          line('S3 requests', 'GET of the original', 1, 's3GetRequest'),
          line('S3 requests', 'PUTs: thumbnail, preview', 2, 's3PutRequest'),
        ]
      : [
          // The converters read a file twice: checked, then converted.
          line('S3 requests', 'GETs of the original: check, convert', 2, 's3GetRequest'),
          line(
            'S3 requests',
            'PUT of the Parquet output',
            kind === 'log' ? ASSUMED.logPartitions : 1,
            's3PutRequest',
          ),
        ];
  return [
    ...shared,
    ...processor.lines,
    ...kindLines,
    ...logs(stage, sharedRuns + 1, apiRequests),
    line('X-Ray', 'traces recorded', sharedTraces * ASSUMED.xraySampled, 'xrayTrace'),
  ];
};

/** What one file of `kind` costs each month it is kept: its bytes in S3 and its record. */
export const storageLines = (kind: CostKind): Line[] => {
  const original = FILE_BYTES[kind];
  const derived =
    kind === 'image'
      ? MEASURED.imageDerivativeBytes.value
      : kind === 'video'
        ? FILE_BYTES.video + MEASURED.imageDerivativeBytes.value
        : original * ASSUMED.parquetShare;
  const record =
    kind === 'csv' || kind === 'log' ? ASSUMED.analyticsRecordBytes : MEASURED.recordBytes.value;
  return [
    line(
      'S3 storage',
      'original and derivatives (GB-months)',
      (original + derived) / GIB,
      's3StandardGbMonth',
    ),
    line(
      'Aurora',
      'the record and its indexes (GB-months)',
      (record * (1 + ASSUMED.recordOverhead)) / GIB,
      'auroraStorageGbMonth',
    ),
  ];
};

/** The alarm metrics the observability construct creates for a stage (infra/constructs/observability.ts). */
export const alarmMetrics = (stage: StageConfig): number => {
  const kinds = FILE_KINDS.length;
  const deadLetterAlarms = kinds + 1 + (stage.notificationSender ? 1 : 0);
  const backlogAlarms = kinds;
  // An error-rate alarm watches errors and invocations (metric math); locally, errors alone.
  const errorMetrics = kinds * (stage.metricMathAlarms ? 2 : 1);
  // API 5xx, sweeper errors, notifier failures, unverified multipart checksums; the video
  // workflow's failed, timed-out and throttled executions (infra/constructs/video-workflow.ts).
  return deadLetterAlarms + backlogAlarms + errorMetrics + 4 + 3;
};

/** What a stage costs each month with no file at all. */
export const idleLines = (stage: StageConfig): Line[] => {
  const sweeps = MINUTES_PER_MONTH / stage.sweepEveryMinutes;
  // The connections function closes expired connections on the same schedule.
  const scheduledRuns = 2 * sweeps;
  const small = MEASURED.smallFunctionMs.value / 1000;
  const minAcu = stage.database.kind === 'aurora' ? stage.database.minCapacity : 0;
  // Each kind's queue and the notifications queue are polled by Lambda.
  const polledQueues = FILE_KINDS.length + 1;
  return [
    line(
      'Aurora',
      `capacity at its minimum (${minAcu} ACU × ${HOURS_PER_MONTH} h)`,
      minAcu * HOURS_PER_MONTH,
      'auroraAcuHour',
    ),
    line('Secrets Manager', 'secrets: admin, reading role, writing role', 3, 'secretMonth'),
    line('CloudWatch', 'alarm metrics', alarmMetrics(stage), 'alarmMetricMonth'),
    line('CloudWatch', 'dashboard', 1, 'dashboardMonth'),
    ...lambda(stage, 'sweeper and expired connections (scheduled)', 512, small, scheduledRuns),
    line('RDS Data API', 'sweeper statements', sweeps * ASSUMED.sweepStatements, 'dataApiRequest'),
    line('DynamoDB', 'expired connections looked up', sweeps, 'dynamoReadRequest'),
    line(
      'SQS',
      'empty long polls of idle queues',
      polledQueues * ASSUMED.idlePollersPerQueue * 3 * MINUTES_PER_MONTH,
      'sqsRequest',
    ),
    ...logs(stage, scheduledRuns, 0),
    line('X-Ray', 'traces of scheduled runs', scheduledRuns * ASSUMED.xraySampled, 'xrayTrace'),
  ];
};

/** Custom metrics a month with files emits (Powertools EMF, one dimension: the service). */
export const ACTIVE_METRICS = [
  'UploadsRequested',
  'FilesProcessed',
  'BytesProcessed',
  'ProcessingDuration',
  'EndToEndLatency',
  'NotificationsSent',
] as const;

export const sumUsd = (lines: readonly Line[]): number =>
  lines.reduce((total, l) => total + l.usd, 0);

export const byService = (lines: readonly Line[]): Partial<Record<Service, number>> => {
  const out: Partial<Record<Service, number>> = {};
  for (const l of lines) out[l.service] = (out[l.service] ?? 0) + l.usd;
  return out;
};

/** Lambda's cost per function (requests and GB-seconds together). */
export const byFunction = (lines: readonly Line[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const l of lines) {
    if (l.service !== 'Lambda') continue;
    const name = l.item.split(':')[0] ?? l.item;
    out[name] = (out[name] ?? 0) + l.usd;
  }
  return out;
};

export type Mix = Readonly<Partial<Record<CostKind, number>>>;

const ALIASES: Readonly<Record<string, CostKind>> = {
  image: 'image',
  images: 'image',
  csv: 'csv',
  tabular: 'csv',
  log: 'log',
  logs: 'log',
  video: 'video',
};

/**
 * Reads `image=0.7,csv=0.2,log=0.1`: shares of known kinds (`tabular` and `logs` are accepted
 * for `csv` and `log`), each between 0 and 1, each named once, adding up to 1.
 * @throws Error with a sentence that says what is wrong.
 */
export const parseMix = (text: string): Mix => {
  const mix: Partial<Record<CostKind, number>> = {};
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0)
    throw new Error('the mix is empty: give shares such as image=0.7,csv=0.3');
  for (const part of parts) {
    const match = /^([a-z]+)\s*=\s*(.+)$/i.exec(part);
    if (!match) throw new Error(`"${part}" is not kind=share (for example image=0.7)`);
    const [, name = '', value = ''] = match;
    const kind = ALIASES[name.toLowerCase()];
    if (!kind) {
      throw new Error(`unknown kind "${name}": the model knows ${COST_KINDS.join(', ')}`);
    }
    if (mix[kind] !== undefined) throw new Error(`${kind} is named twice in the mix`);
    const share = Number(value);
    if (!Number.isFinite(share) || share < 0 || share > 1) {
      throw new Error(`${kind}=${value}: a share is a number from 0 to 1`);
    }
    mix[kind] = share;
  }
  const total = Object.values(mix).reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > 1e-9) {
    throw new Error(`the shares add up to ${Number(total.toFixed(6))}, not 1`);
  }
  return mix;
};

/**
 * Reads a count of files: `1000000`, `1e6`, `1_000_000`.
 * @throws Error unless it is a positive, finite number.
 */
export const parseFiles = (text: string): number => {
  const files = Number(text.replaceAll('_', ''));
  if (!Number.isFinite(files) || files <= 0) {
    throw new Error(`--files ${text}: give a positive number of files, such as 1e6`);
  }
  return files;
};

export interface Estimate {
  readonly stage: string;
  readonly architecture: StageConfig['architecture'];
  readonly region: string;
  readonly pricesReadOn: string;
  readonly files: number;
  readonly mix: Mix;
  /** One-off cost of processing the files, by service, by kind, and in all. */
  readonly processing: {
    readonly byService: Partial<Record<Service, number>>;
    readonly byKind: Partial<Record<CostKind, number>>;
    readonly lambdaByFunction: Record<string, number>;
    readonly usd: number;
  };
  /** Each month the files stay: S3 and Aurora storage. */
  readonly storagePerMonth: {
    readonly byKind: Partial<Record<CostKind, number>>;
    readonly usd: number;
  };
  /** The stage's own cost each month, with no file, and the custom metrics a busy month adds. */
  readonly idlePerMonth: {
    readonly byService: Partial<Record<Service, number>>;
    readonly usd: number;
  };
  readonly activeMetricsPerMonth: number;
  /** Cost per 1,000,000 files of each kind in the mix (processing, then storage for a month). */
  readonly perMillion: Partial<Record<CostKind, { processing: number; storagePerMonth: number }>>;
}

/** The model for `files` files in `mix` on `stage`. */
export const estimate = (stage: StageConfig, files: number, mix: Mix): Estimate => {
  const processingLines: Line[] = [];
  const byKind: Partial<Record<CostKind, number>> = {};
  const storageByKind: Partial<Record<CostKind, number>> = {};
  const perMillion: Estimate['perMillion'] = {};
  for (const kind of COST_KINDS) {
    const share = mix[kind];
    if (share === undefined) continue;
    const count = files * share;
    const one = fileLines(stage, kind);
    const stored = sumUsd(storageLines(kind));
    for (const l of one)
      processingLines.push({ ...l, quantity: l.quantity * count, usd: l.usd * count });
    byKind[kind] = sumUsd(one) * count;
    storageByKind[kind] = stored * count;
    perMillion[kind] = { processing: sumUsd(one) * 1e6, storagePerMonth: stored * 1e6 };
  }
  const idle = idleLines(stage);
  return {
    stage: stage.name,
    architecture: stage.architecture,
    region: PRICE_REGION,
    pricesReadOn: PRICES_READ_ON,
    files,
    mix,
    processing: {
      byService: byService(processingLines),
      byKind,
      lambdaByFunction: byFunction(processingLines),
      usd: sumUsd(processingLines),
    },
    storagePerMonth: {
      byKind: storageByKind,
      usd: Object.values(storageByKind).reduce((a, b) => a + b, 0),
    },
    idlePerMonth: { byService: byService(idle), usd: sumUsd(idle) },
    activeMetricsPerMonth: ACTIVE_METRICS.length * PRICES.customMetricMonth.usd,
    perMillion,
  };
};
