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
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'SyncFlow',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'syncflow',
});

/** Metric names; a reader of the dashboard finds them here. */
export const MetricName = {
  UploadsRequested: 'UploadsRequested',
  MultipartUploadsCompleted: 'MultipartUploadsCompleted',
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
