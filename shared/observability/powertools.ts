import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * One logger, tracer and metrics instance per process, shared by every module, so that
 * `fileId` appended once reaches every log line and every SDK client is captured once.
 * Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE.
 */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'syncflow',
});
export const tracer = new Tracer({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'syncflow',
});
/**
 * Powertools Metrics warns "No application metrics to publish" after every invocation that
 * recorded none (a refused request, a skipped event): that is expected here, not a fault, and
 * it drowned the lines that matter. Its other warnings go to the logger, as JSON like the rest.
 */
const metricsLogger = {
  debug: (...args: unknown[]) => logger.debug(String(args[0]), ...args.slice(1).map(extra)),
  info: (...args: unknown[]) => logger.info(String(args[0]), ...args.slice(1).map(extra)),
  warn: (...args: unknown[]) => {
    const message = String(args[0]);
    if (message.startsWith('No application metrics to publish')) return;
    logger.warn(message, ...args.slice(1).map(extra));
  },
  error: (...args: unknown[]) => logger.error(String(args[0]), ...args.slice(1).map(extra)),
};

function extra(value: unknown): Record<string, unknown> {
  return value instanceof Error ? { error: value } : { detail: value };
}

export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'SyncFlow',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'syncflow',
  logger: metricsLogger,
});

/** Metric names; a reader of the dashboard finds them here. */
export const MetricName = {
  UploadsRequested: 'UploadsRequested',
  MultipartUploadsCompleted: 'MultipartUploadsCompleted',
  /** Multipart uploads S3 completed without giving a CRC64NVME to compare with the client's. */
  MultipartChecksumsUnverified: 'MultipartChecksumsUnverified',
  FilesProcessed: 'FilesProcessed',
  FilesFailed: 'FilesFailed',
  FilesRejected: 'FilesRejected',
  BytesProcessed: 'BytesProcessed',
  ProcessingDuration: 'ProcessingDuration',
  /** S3's Object Created event time to the end state written: what an uploader waits. */
  EndToEndLatency: 'EndToEndLatency',
  DuplicateEventsSkipped: 'DuplicateEventsSkipped',
  UnknownObjectsSkipped: 'UnknownObjectsSkipped',
  /** Object versions removed because nobody may be served them (re-sent forms, deleted files). */
  VersionsRemoved: 'VersionsRemoved',
  /** Files the sweeper ended: stuck FAILED, expired uploads, deletions it finished. */
  FilesSwept: 'FilesSwept',
  NotificationsSent: 'NotificationsSent',
  NotificationsFailed: 'NotificationsFailed',
  ConnectionsGone: 'ConnectionsGone',
  EmailsSent: 'EmailsSent',
} as const;
