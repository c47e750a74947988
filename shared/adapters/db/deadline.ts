import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';

let timeLeft: (() => number) | undefined;

/**
 * Milliseconds the current invocation has left, or undefined outside one (at init, in tests and
 * scripts). The Data API driver bounds its retries of a resuming database by it, so a retry never
 * outlives the function and turns a slow answer into a timeout.
 */
export const invocationTimeLeft = (): number | undefined => timeLeft?.();

/**
 * Middy middleware that tells the database driver how long the invocation may still run. One
 * invocation at a time per Lambda process, so module state is enough.
 */
export const databaseDeadline = (): MiddlewareObj => {
  const clear = (): void => {
    timeLeft = undefined;
  };
  return {
    before: (request) => {
      const context = request.context as Partial<Context>;
      timeLeft =
        typeof context.getRemainingTimeInMillis === 'function'
          ? () => (context as Context).getRemainingTimeInMillis()
          : undefined;
    },
    after: clear,
    onError: clear,
  };
};
