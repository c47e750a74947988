import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CorsRule,
  HttpMethods,
  ObjectOwnership,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { kindPrefix } from '../../shared/domain/keys.ts';
import type { LogArchive } from '../stages.ts';

export interface StorageProps {
  /** Origins allowed to POST uploads from a browser; none means no CORS rule. */
  readonly corsOrigins: readonly string[];
  /** Keep the buckets when the stack is deleted. */
  readonly retainData: boolean;
  /** Empty the buckets when the stack is deleted (only when not retained). */
  readonly autoDeleteObjects: boolean;
  /** Days after which an incomplete multipart upload is aborted and its parts freed. @default 1 */
  readonly abortIncompleteMultipartDays?: number;
  /**
   * Log originals (under the logs kind's prefix) move to a colder storage class this long after
   * upload: analysed once, they are kept for the record and rarely read. @default none
   */
  readonly logArchive?: LogArchive;
}

const STORAGE_CLASSES: Record<LogArchive['storageClass'], StorageClass> = {
  STANDARD_IA: StorageClass.INFREQUENT_ACCESS,
  GLACIER_IR: StorageClass.GLACIER_INSTANT_RETRIEVAL,
  GLACIER: StorageClass.GLACIER,
};

/** What a browser on an allowed origin does with the bucket: POST forms, PUT parts, GET downloads. */
const browserUploads = (origins: string[]): CorsRule => ({
  allowedMethods: [HttpMethods.POST, HttpMethods.PUT, HttpMethods.GET, HttpMethods.HEAD],
  allowedOrigins: origins,
  allowedHeaders: ['*'],
  // The client reads each part's ETag to know the part arrived.
  exposedHeaders: ['ETag'],
  maxAge: 3000,
});

/**
 * The uploads bucket: private, encrypted, TLS only, versioned (so every event names an exact
 * version), EventBridge notifications on, CORS for browser uploads, and lifecycle rules that
 * abort forgotten multipart uploads and expire old versions. Access logs go to a bucket of their own.
 */
export class Storage extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const abortAfterDays = props.abortIncompleteMultipartDays ?? 1;
    const archive = props.logArchive;
    if (
      archive &&
      (!Number.isInteger(archive.transitionAfterDays) || archive.transitionAfterDays < 1)
    ) {
      throw new Error('logArchive.transitionAfterDays must be a whole number of days, at least 1');
    }
    if (!Number.isInteger(abortAfterDays) || abortAfterDays < 1) {
      throw new Error('abortIncompleteMultipartDays must be a whole number of days, at least 1');
    }
    const removal = props.retainData
      ? { removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE }
      : { removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: props.autoDeleteObjects };
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      ...removal,
    });
    this.bucket = new Bucket(this, 'Uploads', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      eventBridgeEnabled: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'uploads/',
      cors: props.corsOrigins.length > 0 ? [browserUploads([...props.corsOrigins])] : [],
      lifecycleRules: [
        {
          id: 'abort-incomplete-multipart',
          abortIncompleteMultipartUploadAfter: Duration.days(abortAfterDays),
        },
        { id: 'expire-old-versions', noncurrentVersionExpiration: Duration.days(30) },
        ...(props.logArchive
          ? [
              {
                id: 'archive-log-originals',
                prefix: kindPrefix('logs'),
                transitions: [
                  {
                    storageClass: STORAGE_CLASSES[props.logArchive.storageClass],
                    transitionAfter: Duration.days(props.logArchive.transitionAfterDays),
                  },
                ],
              },
            ]
          : []),
      ],
      ...removal,
    });
  }

  /** Lets one more browser origin (the stage's own console) upload and download. */
  allowBrowserOrigin(origin: string): void {
    this.bucket.addCorsRule(browserUploads([origin]));
  }
}
