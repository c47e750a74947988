import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';

/** The `syncflow` command's entry (the package's `bin`). */
export const CLI_PATH = join(import.meta.dirname, '..', '..', 'cli', 'bin', 'syncflow.mjs');
const CLI = CLI_PATH;

/** A `syncflow` process as a user's shell would run it, its output kept as it comes. */
export interface CliRun {
  readonly child: ChildProcessWithoutNullStreams;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code (or 128 + the signal's number when it was killed). */
  readonly exited: Promise<number>;
  /** stdout's lines that are JSON, parsed. */
  json(): { result?: Record<string, unknown>; error?: { code: string; message: string } }[];
}

export const startCli = (args: readonly string[], env: NodeJS.ProcessEnv, input = ''): CliRun => {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const run: CliRun = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) =>
      child.once('exit', (code, signal) =>
        resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGINT' ? 2 : 15)),
      ),
    ),
    json: () =>
      run.stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line)),
  };
  child.stdout.on('data', (chunk) => {
    run.stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    run.stderr += chunk;
  });
  child.stdin.end(input);
  return run;
};

/** Runs `syncflow` to its end. */
export const cli = async (args: readonly string[], env: NodeJS.ProcessEnv, input = '') => {
  const run = startCli(args, env, input);
  const code = await run.exited;
  return { code, stdout: run.stdout, stderr: run.stderr, json: run.json };
};
