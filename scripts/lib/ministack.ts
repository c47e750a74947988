import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
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

/** Runs a command, its output appended to `logFile`; rejects with the log's path on failure. */
const runLogged = (command: string, args: string[], logFile: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const out = openSync(logFile, 'a');
    const child = spawn(command, args, { stdio: ['ignore', out, out] });
    child.once('error', reject);
    child.once('exit', (code) => {
      closeSync(out);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args[0] ?? ''} failed (exit ${code}); see ${logFile}`));
    });
  });

/**
 * Creates the project-local virtual environment with the pinned emulator on first use and
 * reuses it afterwards (a version change reinstalls). pip's output goes to
 * .syncflow/emulator-install.log; `log` hears what is being installed every few seconds.
 */
export const ensureMinistack = async (log: (line: string) => void = () => {}): Promise<string> => {
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
  const logFile = join(STATE_DIR, 'emulator-install.log');
  log(
    `Installing the emulator (MiniStack ${MINISTACK_VERSION} and ${wanted.length - 1} helpers) into .syncflow/venv: once, a minute or two (details: .syncflow/emulator-install.log)`,
  );
  const started = Date.now();
  // pip says what it fetches and builds; the latest of it, now and then, is the progress.
  const ticker = setInterval(() => {
    const lines = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n') : [];
    const last = [...lines]
      .reverse()
      .find((line) =>
        /^(Collecting|Downloading|Installing|Building|Successfully)/.test(line.trim()),
      );
    log(
      `  … ${Math.round((Date.now() - started) / 1000)} s${last ? `: ${last.trim().slice(0, 100)}` : ''}`,
    );
  }, 10_000);
  try {
    if (!existsSync(join(VENV, 'bin', 'python'))) {
      await runLogged('python3', ['-m', 'venv', VENV], logFile);
    }
    await runLogged(
      join(VENV, 'bin', 'pip'),
      ['install', '--disable-pip-version-check', '--progress-bar', 'off', ...wanted],
      logFile,
    );
  } finally {
    clearInterval(ticker);
  }
  log(`Emulator installed in ${Math.round((Date.now() - started) / 1000)} s`);
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
  /** Where S3 keeps object bodies (with `stateDir`, they survive a restart). */
  dataDir?: string;
  /**
   * Keep the emulator's state here between runs: saved on a graceful stop (SIGTERM) and loaded
   * at start (CloudFormation stacks, functions and their code, APIs and their ids, user pools
   * with their users and signing keys, queues, tables, rules), and S3's objects written to
   * `dataDir` as they arrive. Without it, everything is gone when the emulator stops.
   */
  stateDir?: string;
  /** Hears the first-use install's progress. */
  log?: (line: string) => void;
}): Promise<RunningEmulator> => {
  await ensureMinistack(options.log);
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
      ...(options.stateDir && {
        PERSIST_STATE: '1',
        STATE_DIR: options.stateDir,
        S3_PERSIST: '1',
      }),
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
      // SIGTERM is a graceful stop: the emulator saves its state (stateDir) before it exits.
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), options.stateDir ? 30_000 : 5_000);
      await exited;
      clearTimeout(timer);
      signalGroup('SIGKILL');
    },
  };
};
