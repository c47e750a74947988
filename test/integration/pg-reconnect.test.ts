import type { Request } from '@middy/core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type DatabaseProxy, startDatabaseProxy } from '../../scripts/lib/soak/db-proxy.ts';
import { type DatabaseHandle, openDatabase } from '../../shared/adapters/db/connect.ts';
import { databaseDeadline } from '../../shared/adapters/db/deadline.ts';

/**
 * The node-postgres driver (the local stack's) through the soak's TCP proxy, which drops every
 * connection and resets new ones for as long as an outage lasts, as a restarting server does.
 */
describe('node-postgres driver while the server refuses connections', () => {
  let proxy: DatabaseProxy;
  let handle: DatabaseHandle;

  beforeAll(async () => {
    proxy = await startDatabaseProxy(inject('postgresUrl'));
    handle = await openDatabase({ driver: 'pg', connectionString: proxy.url });
  });
  afterAll(async () => {
    await handle?.close();
    await proxy?.stop();
  });

  it('waits out a short outage: the query runs once the server takes connections again', async () => {
    expect(await handle.db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    const outage = proxy.outage(1_500);
    const started = Date.now();
    // The pool has heard its idle connection go (a statement already on a connection that drops
    // fails: it may have run).
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Sent while every connection is refused.
    const rows = await handle.db.query<{ n: number }>('SELECT 2 AS n');
    expect(rows).toEqual([{ n: 2 }]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    const stats = await outage;
    expect(stats.refused).toBeGreaterThan(0);
    // A transaction too.
    const inside = await handle.db.transaction((tx) => tx.query<{ n: number }>('SELECT 3 AS n'));
    expect(inside).toEqual([{ n: 3 }]);
  });

  it("gives up with the connection error before the invocation's deadline", async () => {
    // An invocation with 5 s left: the driver keeps 3 s to answer in.
    const ends = Date.now() + 5_000;
    const deadline = databaseDeadline();
    await deadline.before?.({
      context: { getRemainingTimeInMillis: () => ends - Date.now() },
    } as unknown as Request);
    const outage = proxy.outage(3_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    try {
      await expect(handle.db.query('SELECT 1')).rejects.toMatchObject({
        code: expect.stringMatching(/ECONNRESET|ECONNREFUSED/),
      });
      expect(Date.now()).toBeLessThan(ends - 2_000);
    } finally {
      await deadline.after?.({} as Request);
      await outage;
    }
  }, 30_000);
});
