import { describe, expect, it } from 'vitest';
import type { FileRecord } from '#shared/domain/file-record.ts';
import { faultFor, faultInjectionEnabled, injectFault } from '#shared/processing/faults.ts';

const file = (filename: string) => ({ filename }) as FileRecord;
const run = { attempts: 1, deadline: new Date() };

describe('local-stage fault injection', () => {
  it('is off unless the stage turned it on, and picks the fault from the name', () => {
    expect(faultInjectionEnabled({})).toBe(false);
    expect(faultInjectionEnabled({ SYNCFLOW_FAULT_INJECTION: 'yes' })).toBe(false);
    expect(faultInjectionEnabled({ SYNCFLOW_FAULT_INJECTION: 'on' })).toBe(true);
    expect(faultFor('photo.jpg')).toBeUndefined();
    expect(faultFor('my fault-crash test.txt')).toBe('crash');
    expect(faultFor('fault-slow.jpg')).toBe('slow');
    expect(faultFor('soak-17 fault-crash-once.png')).toBe('crash-once');
  });

  it('kills the process on an upload of a crash file, but lets its reprocess through', async () => {
    let kills = 0;
    const kill = () => {
      kills++;
    };
    await injectFault(file('fault-crash.txt'), run, kill);
    expect(kills).toBe(1);
    await injectFault(file('fault-crash.txt'), { ...run, reprocessId: 'r1' }, kill);
    await injectFault(file('plain.txt'), run, kill);
    expect(kills).toBe(1);
  });

  it('kills the process on the first delivery of a crash-once file only', async () => {
    let kills = 0;
    const kill = () => {
      kills++;
    };
    await injectFault(file('fault-crash-once.txt'), run, kill);
    expect(kills).toBe(1);
    await injectFault(file('fault-crash-once.txt'), { ...run, attempts: 2 }, kill);
    await injectFault(file('fault-crash-once.txt'), { ...run, reprocessId: 'r1' }, kill);
    expect(kills).toBe(1);
  });
});
