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
  /** @default the global WebSocket */
  readonly socket?: SocketFactory;
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  /** API Gateway drops a connection idle for 10 minutes; a ping keeps it. @default 5 min */
  readonly pingIntervalMs?: number;
  readonly random?: () => number;
}

export interface Subscription {
  close(): void;
  readonly state: ConnectionState;
}

/**
 * Live `file.*` events for the signed-in user. Reconnects after any drop with jittered, capped
 * exponential backoff and a fresh token, and tells the caller to refetch after each reconnect;
 * repeats of one event (same `eventId`) are dropped.
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
    current.onopen = () => {
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
    current.onerror = () => {
      // A close follows every error; reconnecting is decided there.
    };
    current.onclose = () => {
      clearInterval(pingTimer);
      if (socket === current) scheduleReconnect();
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
