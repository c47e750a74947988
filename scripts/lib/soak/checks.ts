import type { Expected } from './workload.ts';

/** What the soak saw of one planned upload. */
export interface UploadSeen {
  readonly index: number;
  readonly ownerId: string;
  readonly expected: Expected;
  /** Undefined when `POST /uploads` refused the file (or the soak gave up on it). */
  readonly fileId?: string;
  /** The HTTP status of a refused `POST /uploads`. */
  readonly refusedWith?: number;
  /** When the bytes were in S3 (ms since the epoch). */
  readonly uploadedAt?: number;
}

/** A file's row as the database holds it at the end. */
export interface RecordSeen {
  readonly fileId: string;
  readonly ownerId: string;
  readonly status: string;
  readonly reason: string | null;
  readonly key: string;
}

/** One `file.*` event as the bus listener received it. */
export interface BusEventSeen {
  readonly id: string;
  readonly type: string;
  readonly fileId: string;
  readonly ownerId: string;
  /** The outcome it publishes (end states): the same on each publication of one outcome. */
  readonly outcomeId?: string;
}

/** One message a user's steady WebSocket received. */
export interface PushSeen {
  readonly ownerId: string;
  readonly eventId: string;
  readonly fileId: string;
  readonly type: string;
  readonly at: number;
}

export interface SoakObservations {
  readonly uploads: readonly UploadSeen[];
  readonly records: readonly RecordSeen[];
  readonly busEvents: readonly BusEventSeen[];
  readonly pushes: readonly PushSeen[];
  /** Owners whose steady connection was open the whole run. */
  readonly connectedOwners: readonly string[];
  /** Per file, how many runs the processors' logs say finished it (reprocess runs left out). */
  readonly runsByFile: ReadonlyMap<string, number>;
  /** Files named in the DLQs' messages, before the redrive. */
  readonly deadLetters: readonly string[];
  /** Keys under uploads/ and derived/ in the bucket. */
  readonly objectKeys: readonly string[];
  /** Files whose status changed while the check ran: the redrive's files and what they became. */
  readonly afterRedrive: ReadonlyMap<string, string>;
}

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  /** Up to ten examples of what broke it, or a count of what was checked. */
  readonly detail: string;
}

const END_STATES = new Set(['PROCESSED', 'FAILED', 'REJECTED']);
const STATUS_OF_TYPE: Record<string, string> = {
  'file.processed': 'PROCESSED',
  'file.failed': 'FAILED',
  'file.rejected': 'REJECTED',
};

const result = (name: string, problems: string[], checked: string): CheckResult => ({
  name,
  ok: problems.length === 0,
  detail:
    problems.length === 0
      ? checked
      : `${problems.length} problem(s): ${problems.slice(0, 10).join('; ')}`,
});

const fits = (expected: Expected, status: string): boolean =>
  expected === 'PROCESSED'
    ? status === 'PROCESSED'
    : expected === 'FAILED'
      ? status === 'FAILED'
      : expected === 'NOT_PROCESSED'
        ? status === 'REJECTED' || status === 'FAILED'
        : false;

/** Where an upload started under a key ends: `uploads/{kind}/{owner}/{file}` or `derived/{owner}/{file}/…`. */
const fileIdOfKey = (key: string): string | undefined => {
  const parts = key.split('/');
  if (parts[0] === 'uploads') return parts[3];
  if (parts[0] === 'derived') return parts[2];
  return undefined;
};

/**
 * The soak's verdicts, from what it observed: each is a check the issue names (every file in one
 * end state with a reason, one run per version, one event per outcome, every owner told,
 * the DLQ explained and redriven, bucket and records agreeing).
 */
export const checkSoak = (seen: SoakObservations): CheckResult[] => {
  const records = new Map(seen.records.map((r) => [r.fileId, r]));
  const checks: CheckResult[] = [];

  // 1. Every file in exactly one end state, with a reason where not PROCESSED, as planned.
  {
    const problems: string[] = [];
    for (const upload of seen.uploads) {
      if (upload.expected === 'REFUSED') {
        if (upload.fileId !== undefined || upload.refusedWith !== 413) {
          problems.push(
            `#${upload.index} oversize: not refused with 413 (${upload.refusedWith ?? upload.fileId})`,
          );
        }
        continue;
      }
      if (!upload.fileId) {
        problems.push(`#${upload.index} was never uploaded (${upload.refusedWith ?? 'no answer'})`);
        continue;
      }
      const record = records.get(upload.fileId);
      if (!record) problems.push(`${upload.fileId} has no record`);
      else if (!END_STATES.has(record.status))
        problems.push(`${upload.fileId} is ${record.status}`);
      else if (record.status !== 'PROCESSED' && !record.reason?.trim()) {
        problems.push(`${upload.fileId} is ${record.status} without a reason`);
      } else if (!fits(upload.expected, record.status)) {
        problems.push(`${upload.fileId} is ${record.status}, expected ${upload.expected}`);
      }
    }
    checks.push(result('end-states', problems, `${seen.uploads.length} uploads`));
  }

  // 2. No file processed twice for one version.
  {
    const problems = [...seen.runsByFile]
      .filter(([, runs]) => runs > 1)
      .map(([fileId, runs]) => `${fileId} finished ${runs} times`);
    checks.push(result('processed-once', problems, `${seen.runsByFile.size} files ran`));
  }

  // 3. Every file.* event published once per outcome, and matching the record's end state.
  const eventsByFile = new Map<string, BusEventSeen[]>();
  for (const event of seen.busEvents) {
    eventsByFile.set(event.fileId, [...(eventsByFile.get(event.fileId) ?? []), event]);
  }
  {
    const problems: string[] = [];
    for (const upload of seen.uploads) {
      if (!upload.fileId) continue;
      const record = records.get(upload.fileId);
      const events = eventsByFile.get(upload.fileId) ?? [];
      const types = events.map((e) => e.type);
      // Published at least once: a repeat of one outcome carries its outcomeId (consumers drop
      // it); two outcomeIds of one type are two outcomes told.
      for (const type of new Set(types)) {
        const outcomes = new Set(
          events.filter((e) => e.type === type).map((e) => e.outcomeId ?? e.id),
        );
        if (outcomes.size > 1) {
          problems.push(`${upload.fileId}: ${type} published for ${outcomes.size} outcomes`);
        }
      }
      if (record && END_STATES.has(record.status)) {
        const wanted = Object.entries(STATUS_OF_TYPE).find(([, s]) => s === record.status)?.[0];
        if (wanted && !types.includes(wanted)) {
          problems.push(`${upload.fileId} is ${record.status} but no ${wanted} was published`);
        }
      }
    }
    checks.push(result('events-once', problems, `${seen.busEvents.length} events`));
  }

  // 4. Every connected owner received each of its events; repeats only with the same eventId.
  {
    const problems: string[] = [];
    const connected = new Set(seen.connectedOwners);
    const pushed = new Map<string, PushSeen[]>();
    for (const push of seen.pushes)
      pushed.set(push.eventId, [...(pushed.get(push.eventId) ?? []), push]);
    for (const event of seen.busEvents) {
      if (!connected.has(event.ownerId) || !(event.type in STATUS_OF_TYPE)) continue;
      // A push names the outcome it tells (notification.ts), else the bus event.
      const got = pushed.get(event.outcomeId ?? event.id) ?? [];
      if (!got.some((p) => p.ownerId === event.ownerId && p.fileId === event.fileId)) {
        problems.push(`${event.type} ${event.fileId} never reached its owner`);
      }
      if (got.some((p) => p.ownerId !== event.ownerId)) {
        problems.push(`${event.type} ${event.fileId} reached another user`);
      }
    }
    // A repeat of one outcome under a new eventId would be a second publication: caught above,
    // and here from the client's side.
    const byOutcome = new Map<string, Set<string>>();
    for (const push of seen.pushes) {
      // A run's start (file.processing) is pushed once per run, and a retried file runs again.
      if (!(push.type in STATUS_OF_TYPE)) continue;
      const key = `${push.ownerId} ${push.fileId} ${push.type}`;
      byOutcome.set(key, (byOutcome.get(key) ?? new Set()).add(push.eventId));
    }
    for (const [key, ids] of byOutcome) {
      if (ids.size > 1) problems.push(`${key} pushed under ${ids.size} event ids`);
    }
    checks.push(
      result('owners-told', problems, `${seen.pushes.length} pushes to ${connected.size} owners`),
    );
  }

  // 5. The DLQ explained (each message's file FAILED), and after the redrive in an end state.
  {
    const problems: string[] = [];
    for (const fileId of seen.deadLetters) {
      const record = records.get(fileId);
      if (record?.status !== 'FAILED')
        problems.push(`${fileId} in a DLQ is ${record?.status ?? 'unknown'}`);
      const after = seen.afterRedrive.get(fileId);
      if (!after || !END_STATES.has(after))
        problems.push(`${fileId} after the redrive is ${after ?? 'unknown'}`);
    }
    checks.push(result('dead-letters', problems, `${seen.deadLetters.length} messages`));
  }

  // 6. Nothing in the bucket without a record, and no record pointing at nothing.
  {
    const problems: string[] = [];
    const keys = new Set(seen.objectKeys);
    for (const key of seen.objectKeys) {
      const fileId = fileIdOfKey(key);
      if (!fileId || !records.has(fileId)) problems.push(`${key} has no record`);
    }
    for (const record of seen.records) {
      if (['PENDING_UPLOAD', 'EXPIRED', 'DELETED'].includes(record.status)) continue;
      if (!keys.has(record.key))
        problems.push(`${record.fileId} (${record.status}) points at a missing ${record.key}`);
    }
    checks.push(
      result(
        'bucket-and-records',
        problems,
        `${keys.size} objects, ${seen.records.length} records`,
      ),
    );
  }
  return checks;
};

/** The q-quantile of some values (nearest rank); NaN for none. */
export const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};
