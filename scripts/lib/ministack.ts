import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The emulator's pinned version and what it needs beside it: boto3 for CDK's Python custom
 * resources, cryptography for real RS256 Cognito tokens (without it MiniStack signs with a
 * dummy key that no verifier accepts), duckdb for Athena queries that run real SQL over the
 * Parquet files in its S3 (without it its Athena answers every query with made-up rows), and
 * pytz, without which DuckDB cannot hand a `timestamp with time zone` value to Python and such a
 * query fails. duckdb is the same release as the npm package the functions write Parquet with.
 */
export const MINISTACK_VERSION = '1.5.33';
export const PINNED_PACKAGES: Readonly<Record<string, string>> = {
  ministack: MINISTACK_VERSION,
  boto3: '1.43.106',
  cryptography: '50.0.2',
  duckdb: '1.5.6',
  pytz: '2026.6',
  // Native CRC64NVME and CRC32C for the emulator's S3 (ministack_native_crc.py).
  awscrt: '0.38.1',
};

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const STATE_DIR = join(PROJECT_ROOT, '.syncflow');
const VENV = join(STATE_DIR, 'venv');
const MINISTACK_BIN = join(VENV, 'bin', 'ministack');
const VENV_PYTHON = join(VENV, 'bin', 'python');
/** Starts MiniStack with awscrt's checksums in place of its pure-Python ones (see the file). */
const LAUNCHER = join(PROJECT_ROOT, 'scripts', 'lib', 'ministack_native_crc.py');

/**
 * Creates the project-local virtual environment with the pinned emulator on first use and
 * reuses it afterwards (a version change reinstalls).
 */
export const ensureMinistack = (log: (line: string) => void = () => {}): string => {
  const wanted = Object.entries(PINNED_PACKAGES).map(([name, version]) => `${name}==${version}`);
  const installed = (): string[] => {
    if (!existsSync(MINISTACK_BIN)) return [];
    try {
      const script = `import importlib.metadata as m\nfor n in ${JSON.stringify(Object.keys(PINNED_PACKAGES))}:\n  print(n + "==" + m.version(n))`;
      return execFileSync(join(VENV, 'bin', 'python'), ['-c', script], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      })
        .trim()
        .split('\n');
    } catch {
      return [];
    }
  };
  if (installed().join(' ') === wanted.join(' ')) return MINISTACK_BIN;
  mkdirSync(STATE_DIR, { recursive: true });
  if (!existsSync(join(VENV, 'bin', 'python'))) {
    log(`Creating ${VENV}`);
    execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  }
  log(`Installing ${wanted.join(' ')} into ${VENV}`);
  execFileSync(
    join(VENV, 'bin', 'pip'),
    ['install', '--quiet', '--disable-pip-version-check', ...wanted],
    {
      stdio: 'inherit',
    },
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
  ensureMinistack();
  const out = openSync(options.logFile, 'a');
  // A process group of its own: the Lambda workers it spawns go when the group is stopped.
  const child = spawn(VENV_PYTHON, [LAUNCHER], {
    detached: true,
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
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
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
      const signalGroup = (signal: NodeJS.Signals): void => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, signal);
        } catch {
          // the group is already gone
        }
      };
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      signalGroup('SIGKILL');
    },
  };
};
