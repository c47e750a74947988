import { join } from 'node:path';
import { Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AllowedMethods,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { buildConsole } from '../../console/build.ts';
import { consoleCsp } from '../../scripts/lib/console-server.ts';

export interface ConsoleHostingProps {
  /** Keep the console's bucket when the stack goes. */
  readonly retainData: boolean;
  /** Where CloudFront writes its access logs (a bucket with ACLs enabled). */
  readonly logBucket: IBucket;
  /** Copy the console's files in at deploy (the stage's `consoleAssets`); default true. */
  readonly copyAssets?: boolean;
}

/** What the console is told about its stack (config.json), made at deploy. */
export interface ConsoleSettings {
  readonly stage: string;
  readonly restUrl: string;
  readonly websocketUrl: string;
  readonly userPoolClientId: string;
  /** The pool's id: the console signs in by SRP with it, and never sends the password. */
  readonly userPoolId: string;
  /** The API's and the WebSocket's origins, for the Content-Security-Policy. */
  readonly restOrigin: string;
  readonly websocketOrigin: string;
}

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * The web console in AWS: a private bucket that only CloudFront may read (origin access
 * control), served over HTTPS with a strict Content-Security-Policy (no inline script), HSTS and
 * the usual hardening headers. Its config.json is written at deploy from the stack's own values;
 * `origin` is what the stage's CORS settings allow.
 */
export class ConsoleHosting extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  /** `https://<distribution domain>`: the console's origin. */
  readonly origin: string;
  private csp: string | undefined;
  private readonly copyAssets: boolean;

  constructor(scope: Construct, id: string, props: ConsoleHostingProps) {
    super(scope, id);
    this.copyAssets = props.copyAssets ?? true;
    this.bucket = new Bucket(this, 'Site', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      serverAccessLogsBucket: props.logBucket,
      serverAccessLogsPrefix: 'console-bucket/',
      removalPolicy: props.retainData
        ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
        : RemovalPolicy.DESTROY,
      autoDeleteObjects: !props.retainData,
    });
    const headers = new ResponseHeadersPolicy(this, 'Headers', {
      comment: 'SyncFlow console: strict CSP, HSTS, no framing',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          // Filled in by `configure`, once the API's addresses exist.
          contentSecurityPolicy: Lazy.string({
            produce: () => {
              if (!this.csp) throw new Error('ConsoleHosting.configure was never called');
              return this.csp;
            },
          }),
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          preload: false,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });
    this.distribution = new Distribution(this, 'Distribution', {
      comment: `SyncFlow console (${Stack.of(this).stackName})`,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        responseHeadersPolicy: headers,
        compress: true,
      },
      httpVersion: HttpVersion.HTTP2_AND_3,
      minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021,
      priceClass: PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: props.logBucket,
      logFilePrefix: 'console/',
    });
    this.origin = `https://${this.distribution.distributionDomainName}`;
    NagSuppressions.addResourceSuppressions(this.distribution, [
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'The console is for the pool users wherever they are; geo restriction is an operator choice.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason: 'WAF is an account-level choice of the operator; the console is static files.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The default CloudFront certificate (no custom domain) cannot pin the TLS version; a custom domain with TLSv1.2_2021 is the operator choice.',
      },
    ]);
  }

  /**
   * Builds the console, uploads it with its config.json and sets the Content-Security-Policy to
   * the addresses the console talks to. Called once the API and the WebSocket exist.
   */
  configure(settings: ConsoleSettings): void {
    const stack = Stack.of(this);
    const bucketHosts = `https://*.s3.${stack.region}.${stack.urlSuffix}`;
    const cognito = `https://cognito-idp.${stack.region}.${stack.urlSuffix}`;
    this.csp = consoleCsp(
      [settings.restOrigin, settings.websocketOrigin, bucketHosts, cognito],
      [bucketHosts],
    );
    if (!this.copyAssets) return;
    const build = buildConsole(join(ROOT, '.syncflow', 'console-dist'));
    const deployment = new BucketDeployment(this, 'Deploy', {
      destinationBucket: this.bucket,
      sources: [
        Source.asset(build.dir),
        Source.jsonData('config.json', {
          stage: settings.stage,
          restUrl: settings.restUrl,
          websocketUrl: settings.websocketUrl,
          region: stack.region,
          userPoolClientId: settings.userPoolClientId,
          userPoolId: settings.userPoolId,
        }),
      ],
      distribution: this.distribution,
      distributionPaths: ['/index.html', '/config.json', '/app.js', '/app.css'],
      prune: true,
    });
    // The copying function is a singleton of the stack, not a child of the deployment.
    const handlers = stack.node.children.filter((c) =>
      c.node.id.startsWith('Custom::CDKBucketDeployment'),
    );
    for (const handler of [deployment, ...handlers]) {
      NagSuppressions.addResourceSuppressions(
        handler,
        [
          {
            id: 'AwsSolutions-IAM5',
            reason:
              "CDK's BucketDeployment copies its asset into the console bucket: object wildcards of those two buckets only.",
            appliesTo: [
              {
                regex:
                  '/^Resource::arn:(<AWS::Partition>|[a-z-]+):s3:::cdk-[a-z0-9]+-assets-(<AWS::AccountId>|[0-9]+)-(<AWS::Region>|[a-z0-9-]+)\\/\\*$/',
              },
              { regex: '/^Resource::<ConsoleSite[0-9A-F]+\\.Arn>\\/\\*$/' },
            ],
          },
          {
            id: 'AwsSolutions-L1',
            reason: "The runtime of CDK's BucketDeployment handler is CDK's choice.",
          },
        ],
        true,
      );
    }
  }
}
