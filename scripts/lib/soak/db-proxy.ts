import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, Socket } from 'node:net';

/** Connections one outage dropped (open when it began) and refused (tried during it). */
export interface OutageStats {
  readonly dropped: number;
  readonly refused: number;
}

/** A TCP proxy on 127.0.0.1 in front of PostgreSQL that can refuse service for a while. */
export interface DatabaseProxy {
  /** `postgres://…` through the proxy: what the stack's functions are given. */
  readonly url: string;
  /**
   * `POST {controlUrl}outage?ms=N` starts an outage from another process (the end-to-end
   * suite's proxy lives in its global setup) and answers the OutageStats once it is over.
   */
  readonly controlUrl: string;
  /**
   * Drops every open connection at once and refuses new ones (accepted, then reset) for `ms`,
   * as a database that restarts or fails over does.
   */
  outage(ms: number): Promise<OutageStats>;
  stop(): Promise<void>;
}

/**
 * Starts the proxy on a free loopback port, forwarding to `target` (a `postgres://` URL on
 * 127.0.0.1). The soak points the stack at it so it can take the database away without
 * touching the database itself.
 */
export const startDatabaseProxy = async (target: string): Promise<DatabaseProxy> => {
  const upstream = new URL(target);
  const open = new Set<Socket>();
  let down: { dropped: number; refused: number } | undefined;
  const server: Server = createServer((client) => {
    if (down) {
      down.refused++;
      client.resetAndDestroy();
      return;
    }
    const database = new Socket();
    open.add(client);
    const close = () => {
      open.delete(client);
      client.destroy();
      database.destroy();
    };
    client.on('error', close).on('close', close);
    database.on('error', close).on('close', close);
    database.connect(Number(upstream.port || 5432), upstream.hostname, () => {
      client.pipe(database).pipe(client);
    });
  });
  const outage = async (ms: number): Promise<OutageStats> => {
    const stats = { dropped: 0, refused: 0 };
    down = stats;
    for (const socket of open) {
      stats.dropped++;
      socket.resetAndDestroy();
    }
    open.clear();
    await new Promise((resolve) => setTimeout(resolve, ms));
    down = undefined;
    return stats;
  };
  const control = createHttpServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const ms = Number(url.searchParams.get('ms'));
    if (request.method !== 'POST' || url.pathname !== '/outage' || !(ms > 0 && ms <= 600_000)) {
      response.writeHead(400).end('POST /outage?ms=<1..600000>');
      return;
    }
    void outage(ms).then((stats) =>
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats)),
    );
  });
  const listen = (s: Server | ReturnType<typeof createHttpServer>) =>
    new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const address = s.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
  const port = await listen(server);
  const controlPort = await listen(control);
  const url = new URL(target);
  url.port = String(port);
  return {
    url: url.toString(),
    controlUrl: `http://127.0.0.1:${controlPort}/`,
    outage,
    stop: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => control.close(() => resolve()));
    },
  };
};

/** An outage of the proxy at `controlUrl`, from any process; resolves when it is over. */
export const requestOutage = async (controlUrl: string, ms: number): Promise<OutageStats> => {
  const response = await fetch(`${controlUrl}outage?ms=${ms}`, { method: 'POST' });
  if (!response.ok) throw new Error(`The database proxy refused the outage: ${response.status}`);
  return (await response.json()) as OutageStats;
};
