import { describe, expect, it, vi } from 'vitest';
import { type SocketLike, subscribe } from '../../../client/src/index.ts';

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
});
