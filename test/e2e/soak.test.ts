import { describe, expect, inject, it } from 'vitest';
import { runSoak } from '../../scripts/lib/soak/run-soak.ts';

const target = inject('target');
const database = inject('soakDatabase');
/** Short in CI; `npm run soak` runs the full 2,000 files with its own stack. */
const FILES = Number(process.env.SYNCFLOW_SOAK_FILES ?? 50);

describe(`a short soak with injected faults on the ${target.name} stack`, () => {
  // Needs the local stage's fault injection and the database proxy of the suite's own stack
  // (test/support/targets.ts); a running `npm start` has no proxy: `npm run soak` covers it.
  it.runIf(database !== null)(
    `loses no file and does none twice across ${FILES} uploads while parts of the stack fail`,
    async () => {
      if (!database) return;
      const report = await runSoak(target, database, {
        files: FILES,
        users: 3,
        concurrency: 8,
        outageSeconds: 5,
        seed: 17,
        // A file that crashes on every delivery ends only after its deliveries, the DLQ and a
        // redrive (minutes): the full run has them; the suite's short run keeps to faults a
        // retry recovers from.
        crashAlways: false,
        log: (line) => console.log(`[soak] ${line}`),
      });
      console.log(JSON.stringify(report.figures));
      const { faults } = report.figures;
      // Every kind of fault was injected, or the checks prove nothing about it.
      expect(faults.processor_crash_once).toBeGreaterThan(0);
      expect(faults.db_outages).toBe(2);
      expect(faults.db_connections_dropped + faults.db_connections_refused).toBeGreaterThan(0);
      expect(faults.s3_event_copies).toBeGreaterThan(FILES);
      expect(faults.ghost_connections).toBeGreaterThan(0);
      expect(faults.ws_disconnects).toBeGreaterThan(0);
      // Pushes met the vanished connections.
      expect(report.figures.notifier_pushes_gone).toBeGreaterThan(0);
      expect(report.checks.filter((check) => !check.ok)).toEqual([]);
      expect(report.figures.lost).toBe(0);
    },
    900_000,
  );
});
