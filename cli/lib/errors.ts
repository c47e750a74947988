import { ApiError } from '../../client/src/index.ts';

/**
 * The exit codes, fixed up front (gh's convention): scripts branch on them.
 * 0 every file ended well, 1 some file or call failed, 2 the command line was wrong,
 * 4 not signed in (or the token was refused), 130 interrupted by Ctrl-C.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, auth: 4, interrupted: 130 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI explains in one sentence, with the exit code it ends with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failed,
    /** The contract's error code when the API gave one, else a CLI one. */
    readonly code: string = exitCode === EXIT.usage
      ? 'USAGE'
      : exitCode === EXIT.auth
        ? 'UNAUTHORIZED'
        : 'FAILED',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

export const usageError = (message: string): CliError => new CliError(message, EXIT.usage);

/** Whether an error means the user must sign in (again). */
export const isAuthError = (error: unknown): boolean =>
  (error instanceof ApiError && (error.status === 401 || error.code === 'UNAUTHORIZED')) ||
  (error instanceof CliError && error.exitCode === EXIT.auth);

/** Any error as the `{code, message}` of the JSON envelope and the exit code it ends with. */
export const describeError = (
  error: unknown,
): { code: string; message: string; exitCode: ExitCode } => {
  if (error instanceof CliError)
    return { code: error.code, message: error.message, exitCode: error.exitCode };
  if (isAuthError(error)) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      code: 'UNAUTHORIZED',
      message: `${message}; sign in again with \`syncflow login\``,
      exitCode: EXIT.auth,
    };
  }
  if (error instanceof ApiError) {
    const id = error.requestId ? ` (request ${error.requestId})` : '';
    return { code: error.code, message: `${error.message}${id}`, exitCode: EXIT.failed };
  }
  return {
    code: 'FAILED',
    message: error instanceof Error ? error.message : String(error),
    exitCode: EXIT.failed,
  };
};
