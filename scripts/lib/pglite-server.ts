import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface RunningPglite {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Embedded PostgreSQL (PGlite) served to `pg` clients on 127.0.0.1, its data kept in `dataDir`
 * between runs. PGlite is single-connection at heart: the socket server queues the clients.
 */
export const startPgliteServer = async (options: {
  port: number;
  dataDir: string;
}): Promise<RunningPglite> => {
  mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir);
  const server = new PGLiteSocketServer({
    db,
    port: options.port,
    host: '127.0.0.1',
    maxConnections: 100,
  });
  await server.start();
  return {
    url: `postgres://postgres@127.0.0.1:${options.port}/postgres`,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
};
