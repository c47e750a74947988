import type { Logger } from '@aws-lambda-powertools/logger';

/**
 * The JSON lines a Powertools logger prints while `work` runs, parsed: the tests run it SILENT
 * (vitest.config.ts), so for this while it logs at INFO and its lines are caught on their way to
 * stdout or stderr
 * instead of printed.
 */
export const captureLogs = async (
  logger: Logger,
  work: () => Promise<unknown>,
): Promise<Record<string, unknown>[]> => {
  const lines: string[] = [];
  // Warnings and errors go to stderr, the rest to stdout.
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write);
  const level = logger.getLevelName();
  logger.setLogLevel('INFO');
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    }) as typeof stream.write;
  }
  try {
    await work();
  } finally {
    streams.forEach((stream, i) => {
      stream.write = writes[i] as typeof stream.write;
    });
    logger.setLogLevel(level);
  }
  return lines
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
};
