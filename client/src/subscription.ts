import type { FileEventMessage } from './types.ts';

/** The few members of a WebSocket this code uses: the browser's, or the `ws` package's in Node. */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason?: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface SubscriptionOptions {
  /** The stack's WebSocket URL, without the token. */
  readonly url: string;
  /** A fresh token for every connection: one that expired while away is renewed. */
  readonly token: () => Promise<string | undefined>;
  readonly onEvent: (event: FileEventMessage) => void;
  /** After every connection but the first: events sent while away were lost, so read again. */
  readonly onReconnect?: () => void;
  readonly onState?: (state: ConnectionState) => void;
  /**
   * The server refused the handshake for the token's sake (missing, expired or invalid): the
   * subscription is closed, since another try with the same sign-in would be refused again.
   */
  readonly onRefused?: (error: SubscriptionRefusedError) => void;
  /** @default the global WebSocket */
  readonly socket?: SocketFactory;
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  /** API Gateway drops a connection idle for 10 minutes; a ping keeps it. @default 5 min */
  readonly pingIntervalMs?: number;
  readonly random?: () => number;
}

/**
 * Why the server would not open the connection, said so the user can act on it. API Gateway
 * refuses a handshake with a bare status (401 for no token, 403 for a bad or expired one) and
 * no words of ours, and a browser does not even show the status: the reason is worked out here,
 * from what was sent. `expired` reads the token's `exp` without verifying it (only the server
 * can), which is enough to tell the user to sign in again.
 */
export class SubscriptionRefusedError extends Error {
  constructor(
    readonly reason: 'missing' | 'expired' | 'invalid',
    /** When the token expired (ISO 8601), for `expired`. */
    readonly expiredAt?: string,
  ) {
    super(
      reason === 'missing'
        ? 'The WebSocket refused the connection: no token was sent; sign in'
        : reason === 'expired'
          ? `The WebSocket refused the token: it expired at ${expiredAt}; sign in again`
          : "The WebSocket refused the token as invalid (not one this stack's user pool signed, or altered); sign in again",
    );
    this.name = 'SubscriptionRefusedError';
  }
}

/** A JWT's `exp` in seconds, read without verifying it; undefined when it is no JWT. */
const expiryOf = (token: string): number | undefined => {
  try {
    const part = token.split('.')[1] ?? '';
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const payload = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')));
    return typeof payload?.exp === 'number' ? payload.exp : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Why a handshake that never opened was refused, or undefined when nothing says it was (a
 * network failure, a server restarting: worth retrying). `status` is the handshake's HTTP status
 * when the socket tells it (the `ws` package does, browsers do not); `closeCode` 1008 is the
 * emulator refusing a policy.
 */
export const handshakeRefusal = (
  token: string | undefined,
  status: number | undefined,
  closeCode: number | undefined,
  now = Date.now(),
): SubscriptionRefusedError | undefined => {
  if (!token) return new SubscriptionRefusedError('missing');
  const exp = expiryOf(token);
  if (exp !== undefined && exp * 1000 <= now) {
    return new SubscriptionRefusedError('expired', new Date(exp * 1000).toISOString());
  }
  if (status === 401 || status === 403 || closeCode === 1008) {
    return new SubscriptionRefusedError('invalid');
  }
  return undefined;
};

export interface Subscription {
  close(): void;
  readonly state: ConnectionState;
}

/**
 * Live `file.*` events for the signed-in user. Reconnects after any drop with jittered, capped
 * exponential backoff and a fresh token, and tells the caller to refetch after each reconnect;
 * repeats of one event (same `eventId`) are dropped. A handshake refused for the token's sake
 * ends it, through `onRefused`.
 */
export const subscribe = (options: SubscriptionOptions): Subscription => {
  const factory: SocketFactory =
    options.socket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
  const minDelay = options.minDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 30_000;
  const random = options.random ?? Math.random;
  const seen: string[] = [];
  let socket: SocketLike | undefined;
  let state: ConnectionState = 'connecting';
  let failures = 0;
  let everOpened = false;
  let closed = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let pingTimer: ReturnType<typeof setInterval> | undefined;

  const setState = (next: ConnectionState) => {
    state = next;
    options.onState?.(next);
  };

  const scheduleReconnect = () => {
    if (closed) return;
    setState('reconnecting');
    failures++;
    const cap = Math.min(maxDelay, minDelay * 2 ** (failures - 1));
    retryTimer = setTimeout(connect, Math.round(cap / 2 + (random() * cap) / 2));
  };

  async function connect(): Promise<void> {
    if (closed) return;
    let token: string | undefined;
    try {
      token = await options.token();
    } catch {
      scheduleReconnect();
      return;
    }
    if (closed) return;
    const url = `${options.url}${options.url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token ?? '')}`;
    const current = factory(url);
    socket = current;
    let opened = false;
    let status: number | undefined;
    current.onopen = () => {
      opened = true;
      failures = 0;
      setState('open');
      if (everOpened) options.onReconnect?.();
      everOpened = true;
      clearInterval(pingTimer);
      pingTimer = setInterval(() => {
        if (current.readyState === 1) current.send(JSON.stringify({ action: 'ping' }));
      }, options.pingIntervalMs ?? 300_000);
    };
    current.onmessage = (message) => {
      let event: FileEventMessage;
      try {
        event = JSON.parse(String(message.data)) as FileEventMessage;
      } catch {
        return;
      }
      if (!event.type?.startsWith('file.')) return;
      if (event.eventId) {
        if (seen.includes(event.eventId)) return;
        seen.push(event.eventId);
        if (seen.length > 200) seen.shift();
      }
      options.onEvent(event);
    };
    current.onerror = (event) => {
      // A close follows every error; reconnecting is decided there. The `ws` package names a
      // refused handshake's status in the error's message.
      const said = /Unexpected server response: (\d{3})/.exec(
        String((event as { message?: unknown } | null)?.message ?? ''),
      );
      if (said) status = Number(said[1]);
    };
    current.onclose = (event) => {
      clearInterval(pingTimer);
      if (socket !== current) return;
      const refusal = opened ? undefined : handshakeRefusal(token, status, event?.code);
      if (refusal && !closed) {
        closed = true;
        setState('closed');
        options.onRefused?.(refusal);
        return;
      }
      scheduleReconnect();
    };
  }

  setState('connecting');
  void connect();
  return {
    close() {
      closed = true;
      clearTimeout(retryTimer);
      clearInterval(pingTimer);
      setState('closed');
      socket?.close(1000, 'closed by the client');
    },
    get state() {
      return state;
    },
  };
};
