import { describe, expect, it, vi } from 'vitest';
import {
  handshakeRefusal,
  type SocketLike,
  type SubscriptionRefusedError,
  subscribe,
} from '../../../client/src/index.ts';

/** A socket the test opens, fills and drops by hand. */
class FakeSocket implements SocketLike {
  readyState = 0;
  onopen: SocketLike['onopen'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  onmessage: SocketLike['onmessage'] = null;
  sent: string[] = [];
  constructor(readonly url: string) {}
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({ code: 1006 });
  }
  /** What the `ws` package does when the server answers the handshake with a status. */
  refuse(status: number) {
    this.readyState = 3;
    this.onerror?.({ message: `Unexpected server response: ${status}` });
    this.onclose?.({ code: 1006 });
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.readyState = 3;
  }
}

describe('subscribe', () => {
  it('reconnects with a fresh token after a drop, refetches, and drops repeated events', async () => {
    vi.useFakeTimers();
    const sockets: FakeSocket[] = [];
    let tokens = 0;
    const events: string[] = [];
    const reconnects = vi.fn();
    const sub = subscribe({
      url: 'wss://ws.test/stage',
      token: async () => `t${++tokens}`,
      onEvent: (e) => events.push(`${e.fileId}:${e.status}`),
      onReconnect: reconnects,
      socket: (url) => {
        const s = new FakeSocket(url);
        sockets.push(s);
        return s;
      },
      minDelayMs: 100,
      maxDelayMs: 1000,
      random: () => 1,
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(sockets[0]?.url).toBe('wss://ws.test/stage?token=t1');
    sockets[0]?.open();
    const message = { type: 'file.processed', eventId: 'e1', fileId: 'f', status: 'PROCESSED' };
    sockets[0]?.onmessage?.({ data: JSON.stringify(message) });
    sockets[0]?.onmessage?.({ data: JSON.stringify(message) });
    sockets[0]?.onmessage?.({ data: 'not json' });
    expect(events).toEqual(['f:PROCESSED']);

    sockets[0]?.drop();
    expect(sub.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(100);
    expect(sockets[1]?.url).toBe('wss://ws.test/stage?token=t2');
    sockets[1]?.drop(); // refused again: the wait doubles
    await vi.advanceTimersByTimeAsync(150);
    expect(sockets).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(100);
    expect(sockets).toHaveLength(3);
    sockets[2]?.open();
    expect(reconnects).toHaveBeenCalledTimes(1);
    sub.close();
    sockets[2]?.drop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(sockets).toHaveLength(3);
    vi.useRealTimers();
  });

  describe('a refused handshake', () => {
    /** A JWT-shaped token with this `exp`; its signature is nothing the client could check. */
    const jwt = (exp: number) =>
      `e30.${Buffer.from(JSON.stringify({ sub: 'u', exp })).toString('base64url')}.c2ln`;

    const refusedBy = async (token: string | undefined, refuse: (s: FakeSocket) => void) => {
      vi.useFakeTimers();
      const sockets: FakeSocket[] = [];
      const refused: SubscriptionRefusedError[] = [];
      const sub = subscribe({
        url: 'wss://ws.test/stage',
        token: async () => token,
        onEvent: () => {},
        onRefused: (error) => refused.push(error),
        socket: (url) => {
          const s = new FakeSocket(url);
          sockets.push(s);
          return s;
        },
        minDelayMs: 100,
      });
      await vi.advanceTimersByTimeAsync(0);
      refuse(sockets[0] as FakeSocket);
      await vi.advanceTimersByTimeAsync(5000);
      vi.useRealTimers();
      return { refused, sockets: sockets.length, state: sub.state };
    };

    it('says the token was missing, and stops trying', async () => {
      const result = await refusedBy(undefined, (s) => s.refuse(401));
      expect(result.refused.map((e) => e.message)).toEqual([
        'The WebSocket refused the connection: no token was sent; sign in',
      ]);
      expect(result.refused[0]?.reason).toBe('missing');
      expect(result).toMatchObject({ sockets: 1, state: 'closed' });
    });

    it('says when the token expired, read from its exp claim', async () => {
      const result = await refusedBy(jwt(1_700_000_000), (s) => s.refuse(403));
      expect(result.refused.map((e) => e.message)).toEqual([
        'The WebSocket refused the token: it expired at 2023-11-14T22:13:20.000Z; sign in again',
      ]);
      expect(result.refused[0]).toMatchObject({
        reason: 'expired',
        expiredAt: '2023-11-14T22:13:20.000Z',
      });
    });

    it('calls a current token refused with a 403 invalid', async () => {
      const exp = Math.floor(Date.now() / 1000) + 3600;
      const result = await refusedBy(jwt(exp), (s) => s.refuse(403));
      expect(result.refused[0]?.reason).toBe('invalid');
      expect(result.refused[0]?.message).toMatch(/^The WebSocket refused the token as invalid/);
      expect(result.state).toBe('closed');
    });

    it('keeps retrying a current token whose handshake failed for no stated reason', async () => {
      const exp = Math.floor(Date.now() / 1000) + 3600;
      const result = await refusedBy(jwt(exp), (s) => s.drop());
      expect(result.refused).toEqual([]);
      expect(result.sockets).toBeGreaterThan(1);
      expect(result.state).not.toBe('closed');
    });

    it('works the reason out from what was sent and what the socket told', () => {
      const now = Date.parse('2026-01-01T00:00:00Z');
      const past = now / 1000 - 1;
      const future = now / 1000 + 60;
      expect(handshakeRefusal('', undefined, 1006, now)?.reason).toBe('missing');
      expect(handshakeRefusal(jwt(past), undefined, 1006, now)?.reason).toBe('expired');
      expect(handshakeRefusal(jwt(future), 401, 1006, now)?.reason).toBe('invalid');
      // The emulator closes a refused $connect with 1008.
      expect(handshakeRefusal(jwt(future), undefined, 1008, now)?.reason).toBe('invalid');
      expect(handshakeRefusal('not-a-jwt', 403, 1006, now)?.reason).toBe('invalid');
      expect(handshakeRefusal(jwt(future), undefined, 1006, now)).toBeUndefined();
      expect(handshakeRefusal(jwt(future), 502, 1006, now)).toBeUndefined();
    });
  });
});
