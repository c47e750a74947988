import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The emulator's pinned version and what CDK's Python custom resources need beside it. */
export const MINISTACK_VERSION = '1.5.33';
export const BOTO3_VERSION = '1.43.106';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const STATE_DIR = join(PROJECT_ROOT, '.syncflow');
const VENV = join(STATE_DIR, 'venv');
const MINISTACK_BIN = join(VENV, 'bin', 'ministack');

/**
 * Creates the project-local virtual environment with the pinned emulator on first use and
 * reuses it afterwards (a version change reinstalls).
 */
export const ensureMinistack = (log: (line: string) => void = () => {}): string => {
  const installed = (): string | undefined => {
    if (!existsSync(MINISTACK_BIN)) return undefined;
    try {
      return execFileSync(
        join(VENV, 'bin', 'python'),
        ['-c', 'import importlib.metadata as m; print(m.version("ministack"))'],
        {
          encoding: 'utf8',
        },
      ).trim();
    } catch {
      return undefined;
    }
  };
  if (installed() === MINISTACK_VERSION) return MINISTACK_BIN;
  mkdirSync(STATE_DIR, { recursive: true });
  if (!existsSync(join(VENV, 'bin', 'python'))) {
    log(`Creating ${VENV}`);
    execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  }
  log(`Installing ministack==${MINISTACK_VERSION} and boto3==${BOTO3_VERSION} into ${VENV}`);
  execFileSync(
    join(VENV, 'bin', 'pip'),
    [
      'install',
      '--quiet',
      '--disable-pip-version-check',
      `ministack==${MINISTACK_VERSION}`,
      `boto3==${BOTO3_VERSION}`,
    ],
    { stdio: 'inherit' },
  );
  return MINISTACK_BIN;
};

export interface RunningEmulator {
  readonly endpoint: string;
  readonly port: number;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts MiniStack bound to 127.0.0.1 only, with the listeners it would otherwise open on other
 * interfaces (IoT mTLS, SFTP) off, and waits until it answers its health check.
 */
export const startMinistack = async (options: {
  port: number;
  logFile: string;
  region?: string;
  dataDir?: string;
}): Promise<RunningEmulator> => {
  const bin = ensureMinistack();
  const out = openSync(options.logFile, 'a');
  const child = spawn(bin, [], {
    stdio: ['ignore', out, out],
    env: {
      ...process.env,
      BIND_HOST: '127.0.0.1',
      MINISTACK_HOST: '127.0.0.1',
      GATEWAY_PORT: String(options.port),
      IOT_MTLS_ENABLED: '0',
      SFTP_ENABLED: '0',
      MINISTACK_REGION: options.region ?? 'us-east-1',
      LOG_LEVEL: 'WARNING',
      ...(options.dataDir && { S3_DATA_DIR: options.dataDir }),
    },
  });
  const endpoint = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`MiniStack exited at start (code ${child.exitCode}); see ${options.logFile}`);
    try {
      const response = await fetch(`${endpoint}/_ministack/health`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`MiniStack did not answer within 60 s; see ${options.logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    endpoint,
    port: options.port,
    process: child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
};
