import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PermanentProcessingError } from '../../domain/errors.ts';

/** How the user-facing messages of the errors below begin (see record-failure.ts). */
export const FFMPEG_MISSING = 'Videos cannot be transcoded on this machine';
export const FFMPEG_FAILED = 'The video could not be transcoded';

/** What a person is told when the local stack has no ffmpeg. */
export const FFMPEG_INSTALL_HINT =
  'install it (Debian or Ubuntu: `sudo apt-get install ffmpeg`; macOS: `brew install ffmpeg`) and reprocess the file';

/**
 * The local stage transcodes with the machine's ffmpeg; without one a video ends FAILED with this
 * error's message, and the rest of the stack keeps working.
 */
export class FfmpegMissingError extends PermanentProcessingError {
  constructor(looked: string) {
    super(
      `Videos cannot be transcoded on this machine: ffmpeg was not found (${looked}); ${FFMPEG_INSTALL_HINT}.`,
    );
    this.name = 'FfmpegMissingError';
  }
}

/** ffmpeg ran and failed: its last lines of output are kept for the log, not for the user. */
export class FfmpegFailedError extends PermanentProcessingError {
  readonly exitCode: number | null;
  readonly output: string;

  constructor(exitCode: number | null, output: string) {
    super(`${FFMPEG_FAILED} (ffmpeg exited with ${exitCode}).`);
    this.name = 'FfmpegFailedError';
    this.exitCode = exitCode;
    this.output = output;
  }
}

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The ffmpeg to run: `FFMPEG_PATH` when set, else the first `ffmpeg` on `PATH`. Throws
 * FfmpegMissingError when there is none, so the caller fails the file with a reason that says
 * how to install it.
 */
export const findFfmpeg = (env: NodeJS.ProcessEnv = process.env): string => {
  const configured = env.FFMPEG_PATH;
  if (configured) {
    if (isExecutable(configured)) return configured;
    throw new FfmpegMissingError(`FFMPEG_PATH is ${configured}`);
  }
  const dirs = (env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  for (const dir of [...dirs, '/usr/bin', '/usr/local/bin']) {
    const candidate = join(dir, 'ffmpeg');
    if (isExecutable(candidate)) return candidate;
  }
  throw new FfmpegMissingError('not on PATH');
};

export interface FfmpegRun {
  /** Called with the seconds of output written so far, as ffmpeg's `-progress` reports them. */
  readonly onProgress?: (seconds: number) => void;
  readonly signal?: AbortSignal;
}

/** Keeps the last `limit` characters of a stream: ffmpeg's error is at the end. */
const tail = (limit: number) => {
  let text = '';
  return {
    push: (chunk: Buffer) => {
      text = (text + chunk.toString('utf8')).slice(-limit);
    },
    get: () => text,
  };
};

/**
 * Runs ffmpeg with `args` (its input and outputs included), reporting progress from
 * `-progress pipe:1`. Resolves when it exits 0; rejects with FfmpegFailedError otherwise.
 */
export const runFfmpeg = (ffmpeg: string, args: readonly string[], run: FfmpegRun = {}) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(
      ffmpeg,
      ['-hide_banner', '-nostdin', '-nostats', '-progress', 'pipe:1', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], ...(run.signal && { signal: run.signal }) },
    );
    const errors = tail(4000);
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        // out_time_us is microseconds despite older builds naming it out_time_ms too.
        const match = /^out_time_us=(\d+)/.exec(line);
        if (match?.[1]) run.onProgress?.(Number(match[1]) / 1_000_000);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => errors.push(chunk));
    child.on('error', (error) => reject(error));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new FfmpegFailedError(code, errors.get()));
    });
  });
