import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, type Size } from 'aws-cdk-lib';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { BUNDLING, unusedDriverModules } from '../bundling.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ESBUILD = join(ROOT, 'node_modules', '.bin', 'esbuild');
/** Native modules a function may ship: installed beside its bundle for the target CPU. */
export type NativeModule = (typeof BUNDLING.nativeModules)[number];

// The version the lock file pinned, so the bundle carries the version the tests ran.
const installedVersion = (name: NativeModule): string =>
  JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;

/** What every function of a stage shares: made once per stack (`functionDefaults`). */
export interface FunctionDefaults {
  readonly architecture: 'arm64' | 'x86_64';
  readonly logRetention: RetentionDays;
  readonly retainLogs: boolean;
  /** Which database driver the stage uses; the other one is left out of the bundle. */
  readonly database: 'aurora' | 'postgres';
  /** Ship source maps and turn Node.js's source-map support on (StageConfig.sourceMaps). */
  readonly sourceMaps: boolean;
}

export interface SyncFlowFunctionProps extends FunctionDefaults {
  /** File name under functions/, without `.ts`. */
  readonly entry: string;
  readonly environment?: Record<string, string>;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default 30 seconds */
  readonly timeout?: Duration;
  /**
   * Native modules shipped with their library for the target architecture (sharp for images,
   * DuckDB for the converters); every other function stays free of them. @default none
   */
  readonly nativeModules?: readonly NativeModule[];
  /**
   * Worker-thread entries (paths from the repository's root) bundled as `<name>.mjs` beside the
   * handler's bundle, where shared/processing/worker-pool.ts looks for them. @default none
   */
  readonly workers?: readonly string[];
  /** /tmp space, for functions that spill to disk. @default 512 MiB */
  readonly ephemeralStorageSize?: Size;
  /**
   * Files copied beside the bundle, as paths from the repository root: what the code loads at
   * run time from next to itself (MediaInfo's WASM). @default none
   */
  readonly assets?: readonly string[];
  /** Name of the service in logs, traces and metrics. */
  readonly serviceName: string;
  /** Where an asynchronous invocation goes once its retries are spent. */
  readonly deadLetterQueue?: IQueue;
  /** Retries of an asynchronous invocation that failed (0–2). */
  readonly retryAttempts?: number;
}

/**
 * A function with the project's defaults: Node.js 24, ESM bundle by esbuild with the AWS SDK
 * inside (the emulator has none preinstalled), X-Ray tracing on, JSON logs in a log group with
 * the stage's retention, and Powertools configured.
 */
export class SyncFlowFunction extends NodejsFunction {
  readonly logGroupResource: LogGroup;
  /** The `service` dimension of its metrics and the service of its logs. */
  readonly serviceName: string;

  constructor(scope: Construct, id: string, props: SyncFlowFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      removalPolicy: props.retainLogs
        ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
        : RemovalPolicy.DESTROY,
    });
    const cpu = props.architecture === 'arm64' ? 'arm64' : 'x64';
    const natives = props.nativeModules ?? [];
    const workers = props.workers ?? [];
    const assets = props.assets ?? [];
    super(scope, id, {
      entry: join(ROOT, 'functions', `${props.entry}.ts`),
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: props.architecture === 'arm64' ? Architecture.ARM_64 : Architecture.X86_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      loggingFormat: LoggingFormat.JSON,
      logGroup,
      ...(props.deadLetterQueue && { deadLetterQueue: props.deadLetterQueue }),
      ...(props.retryAttempts !== undefined && { retryAttempts: props.retryAttempts }),
      ...(props.ephemeralStorageSize && { ephemeralStorageSize: props.ephemeralStorageSize }),
      environment: {
        ...(props.sourceMaps && { NODE_OPTIONS: '--enable-source-maps' }),
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: 'SyncFlow',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        // Responses hold presigned upload forms and download URLs: they stay out of traces.
        POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
        // The runtime is Node.js 24, above the SDK's minimum: its warning about older versions
        // can only come from an emulator running the bundle on an older Node.js of the host,
        // once per cold start, about the host and not the code.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLING.target,
        minify: false,
        sourceMap: props.sourceMaps,
        esbuildArgs: {
          '--minify-whitespace': BUNDLING.minify.whitespace,
          '--minify-syntax': BUNDLING.minify.syntax,
          '--minify-identifiers': BUNDLING.minify.identifiers,
          ...Object.fromEntries(
            Object.entries(BUNDLING.alias).map(([name, path]) => [`--alias:${name}`, path]),
          ),
        },
        mainFields: [...BUNDLING.mainFields],
        banner: BUNDLING.banner,
        externalModules: [
          ...BUNDLING.external,
          ...unusedDriverModules(props.database),
          ...(props.nativeModules ?? []),
        ],
        ...((natives.length > 0 || workers.length > 0 || assets.length > 0) && {
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: (_input: string, output: string) => [
              // A native module's build for the function's OS and CPU, not this machine's, is
              // installed once into .syncflow/native/ (with a package.json of its own, so npm
              // never walks up into the project's node_modules) and copied beside each bundle.
              ...natives.flatMap((name) => {
                const version = installedVersion(name);
                const cache = join(
                  ROOT,
                  '.syncflow',
                  'native',
                  `${name.replace('/', '+')}-${version}-linux-${cpu}`,
                );
                const install = `npm install --no-save --no-package-lock --no-audit --no-fund --os=linux --cpu=${cpu} --libc=glibc ${name}@${version}`;
                return [
                  `if [ ! -d "${cache}/node_modules/${name}" ]; then mkdir -p "${cache}" && cd "${cache}" && echo '{"private":true}' > package.json && ${install}; fi`,
                  `mkdir -p "${output}/node_modules" && cp -R "${cache}/node_modules/." "${output}/node_modules/"`,
                ];
              }),
              ...workers.map((entry) => {
                const name = basename(entry).replace(/\.ts$/, '.mjs');
                return `"${ESBUILD}" "${join(ROOT, entry)}" --bundle --platform=node --format=esm --target=${BUNDLING.target} --minify-whitespace --minify-syntax --log-level=warning --outfile="${join(output, name)}"`;
              }),
              ...assets.map((asset) => `cp "${join(ROOT, asset)}" "${output}/"`),
            ],
          },
        }),
      },
    });
    this.logGroupResource = logGroup;
    this.serviceName = props.serviceName;
  }
}
