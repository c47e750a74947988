import WebSocket from 'ws';
import {
  ApiError,
  type ConnectionState,
  type FileStatus,
  type SocketLike,
  type Subscription,
  type SubscriptionRefusedError,
  type SyncFlowClient,
} from '../../client/src/index.ts';

/** Statuses a file does not leave by itself. */
export const END_STATUSES: ReadonlySet<FileStatus> = new Set([
  'PROCESSED',
  'FAILED',
  'REJECTED',
  'EXPIRED',
  'DELETED',
]);

export interface EndState {
  readonly status: FileStatus;
  readonly reason?: string;
}

/** Node.js 20 has no global WebSocket: the `ws` package's, which has the same members. */
export const nodeSocket = (url: string): SocketLike => new WebSocket(url) as unknown as SocketLike;

/** How often files still waited for are read again, in case a push was lost on the way. */
const RECHECK_MS = 20_000;

/**
 * Follows files to their end state: the WebSocket's pushes first (the subscription reconnects
 * by itself), and a read of every file still waited for after each reconnect (pushes sent while
 * away are lost) and every 20 s (belt and braces: a push can fail for good on the server side).
 */
export class EndStateFollower {
  private readonly ended = new Map<string, EndState>();
  private readonly waiting = new Map<string, (state: EndState) => void>();
  private subscription: Subscription | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private opened: Promise<boolean> | undefined;

  constructor(
    private readonly client: SyncFlowClient,
    private readonly onState: (state: ConnectionState) => void = () => {},
  ) {}

  /** Whether the connection is open now: pushes arrive. */
  get connected(): boolean {
    return this.subscription?.state === 'open';
  }

  /** Why the WebSocket refused the token, when it did: statuses are then only read. */
  refused: SubscriptionRefusedError | undefined;

  /**
   * Connects; resolves true once connected, false when no connection came within `timeoutMs` or
   * the handshake was refused (`refused` says why).
   */
  start(timeoutMs = 15_000): Promise<boolean> {
    this.opened ??= new Promise<boolean>((resolve) => {
      const timeout = setTimeout(() => resolve(false), timeoutMs);
      this.subscription = this.client.subscribe({
        socket: nodeSocket,
        onRefused: (error) => {
          this.refused = error;
          clearTimeout(timeout);
          resolve(false);
        },
        onEvent: (event) => {
          this.settle(event.fileId, {
            status: event.status,
            ...(event.reason !== undefined && { reason: event.reason }),
          });
        },
        onReconnect: () => void this.recheck(),
        onState: (state) => {
          if (state === 'open') {
            clearTimeout(timeout);
            resolve(true);
          }
          this.onState(state);
        },
      });
      this.timer = setInterval(() => void this.recheck(), RECHECK_MS);
      this.timer.unref();
    });
    return this.opened;
  }

  private settle(fileId: string, state: EndState): void {
    if (!END_STATUSES.has(state.status)) return;
    this.ended.set(fileId, state);
    const waiter = this.waiting.get(fileId);
    if (waiter) {
      this.waiting.delete(fileId);
      waiter(state);
    }
  }

  /** Reads one file's status, settling it when it ended. */
  private async check(fileId: string): Promise<void> {
    try {
      const file = await this.client.api.getFile(fileId);
      this.settle(fileId, {
        status: file.status,
        ...(file.reason !== null && { reason: file.reason }),
      });
    } catch (error) {
      // Gone (deleted meanwhile): that is its end. Anything else: the next check tries again.
      if (error instanceof ApiError && error.status === 404)
        this.settle(fileId, { status: 'DELETED', reason: 'The file no longer exists' });
    }
  }

  private async recheck(): Promise<void> {
    const ids = [...this.waiting.keys()];
    for (let i = 0; i < ids.length; i += 8) {
      await Promise.all(ids.slice(i, i + 8).map((id) => this.check(id)));
    }
  }

  /**
   * The file's end state, once it has one. `readNow` reads it at once, for a file that may have
   * ended before the connection listened (one uploaded earlier, or while it was down).
   */
  wait(
    fileId: string,
    options: { signal?: AbortSignal; readNow?: boolean } = {},
  ): Promise<EndState> {
    const { signal } = options;
    const known = this.ended.get(fileId);
    if (known) return Promise.resolve(known);
    return new Promise<EndState>((resolve, reject) => {
      const onAbort = () => {
        this.waiting.delete(fileId);
        reject(signal?.reason ?? new Error('aborted'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.set(fileId, (state) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(state);
      });
      if (options.readNow !== false) void this.check(fileId);
    });
  }

  close(): void {
    clearInterval(this.timer);
    this.subscription?.close();
  }
}
