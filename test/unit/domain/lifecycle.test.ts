import { describe, expect, it } from 'vitest';
import {
  type PipelineTiming,
  stuckReason,
  timingEnvironment,
  timingFromEnvironment,
} from '#shared/domain/lifecycle.ts';
import {
  requestWindow,
  secondsLeftInWindow,
  tooManyRequests,
} from '#shared/domain/request-limits.ts';

/** The prod stage's clock: 300 s timeout, 6 × visibility, 3 deliveries, 4 days, 5 min grace. */
const timing: PipelineTiming = {
  processorTimeoutSeconds: 300,
  visibilityTimeoutSeconds: 1800,
  maxReceiveCount: 3,
  queueRetentionSeconds: 4 * 86_400,
  graceSeconds: 300,
};
const now = new Date('2026-12-01T12:00:00Z');
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);

describe('when a file is stuck', () => {
  it('ends a run cut short on its last delivery once its deadline and the grace have passed', () => {
    const file = { status: 'PROCESSING' as const, attempts: 3, updatedAt: ago(600) };
    expect(stuckReason({ ...file, deadline: ago(299) }, timing, now)).toBeUndefined();
    expect(stuckReason({ ...file, deadline: ago(301) }, timing, now)).toMatch(
      /cut short on each of its 3 attempts: the processor ran out of time or memory/,
    );
  });

  it('waits for every delivery left before calling an earlier run abandoned', () => {
    const file = { status: 'PROCESSING' as const, attempts: 1, updatedAt: ago(10_000) };
    // Deliveries 2 and 3 may still come, each after the 30-minute visibility timeout.
    expect(stuckReason({ ...file, deadline: ago(3 * 1800) }, timing, now)).toBeUndefined();
    expect(stuckReason({ ...file, deadline: ago(3 * 1800 + 301) }, timing, now)).toMatch(
      /stopped without finishing/,
    );
  });

  it('ends a queued file only once the queue can no longer hold its message', () => {
    const queued = { status: 'UPLOADED' as const, attempts: 0, deadline: null };
    expect(stuckReason({ ...queued, updatedAt: ago(86_400) }, timing, now)).toBeUndefined();
    expect(stuckReason({ ...queued, updatedAt: ago(4 * 86_400 + 301) }, timing, now)).toMatch(
      /queued for processing but never processed/,
    );
  });

  it('never calls a finished, pending or deleted file stuck', () => {
    for (const status of [
      'PROCESSED',
      'FAILED',
      'REJECTED',
      'PENDING_UPLOAD',
      'DELETED',
    ] as const) {
      expect(
        stuckReason({ status, attempts: 9, deadline: ago(1e6), updatedAt: ago(1e7) }, timing, now),
      ).toBeUndefined();
    }
  });

  it('travels to the functions as environment and back, refusing what is missing', () => {
    expect(timingFromEnvironment(timingEnvironment(timing))).toEqual(timing);
    const { MAX_RECEIVE_COUNT: _gone, ...missing } = timingEnvironment(timing);
    expect(() => timingFromEnvironment(missing)).toThrow(/MAX_RECEIVE_COUNT/);
  });
});

describe('per-user request windows', () => {
  it('counts in whole minutes and tells how long until the next one', () => {
    const at = new Date('2026-12-01T12:00:42.500Z');
    expect(requestWindow(at).toISOString()).toBe('2026-12-01T12:00:00.000Z');
    expect(secondsLeftInWindow(at)).toBe(18);
    expect(secondsLeftInWindow(new Date('2026-12-01T12:00:59.999Z'))).toBe(1);
  });

  it('refuses with a 429 that carries Retry-After', () => {
    const error = tooManyRequests('slow down', 12);
    expect(error).toMatchObject({ statusCode: 429, code: 'TOO_MANY_REQUESTS', expose: true });
    expect(error.headers).toEqual({ 'retry-after': '12' });
  });
});

describe("each kind's own clock", () => {
  const perKind: PipelineTiming = {
    ...timing,
    processorTimeoutSeconds: 900,
    visibilityTimeoutSeconds: 5400,
    kinds: {
      image: { processorTimeoutSeconds: 30, visibilityTimeoutSeconds: 180 },
      tabular: { processorTimeoutSeconds: 900, visibilityTimeoutSeconds: 5400 },
    },
  };

  it('judges an abandoned run by its kind, not by the slowest kind', () => {
    const running = { status: 'PROCESSING' as const, attempts: 1, updatedAt: ago(9000) };
    // 3 deliveries × 180 s + 300 s grace = 840 s for an image; 3 × 5400 + 300 for a table.
    const deadline = ago(900);
    expect(stuckReason({ ...running, deadline, kind: 'image' }, perKind, now)).toMatch(
      /stopped without finishing/,
    );
    expect(stuckReason({ ...running, deadline, kind: 'tabular' }, perKind, now)).toBeUndefined();
    // A kind with no clock of its own uses the stage-wide (slowest) one.
    expect(stuckReason({ ...running, deadline, kind: 'logs' }, perKind, now)).toBeUndefined();
  });

  it('carries the kinds’ clocks through the environment, and refuses a bad one', () => {
    expect(timingFromEnvironment(timingEnvironment(perKind))).toEqual(perKind);
    const env = { ...timingEnvironment(perKind), KIND_CLOCKS: '{"video":{}}' };
    expect(() => timingFromEnvironment(env)).toThrow(/KIND_CLOCKS has a bad entry for video/);
  });
});
