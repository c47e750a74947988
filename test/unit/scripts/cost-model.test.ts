import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { STAGES, type StageConfig } from '../../../infra/stages.ts';
import {
  alarmMetrics,
  type COST_KINDS,
  estimate,
  fileLines,
  idleLines,
  MEASURED,
  PRICES,
  parseFiles,
  parseMix,
  storageLines,
  sumUsd,
} from '../../../scripts/lib/cost-model.ts';

const prod = STAGES.prod as StageConfig;
const dev = STAGES.dev as StageConfig;
const run = promisify(execFile);

const lambdaUsd = (stage: StageConfig, kind: (typeof COST_KINDS)[number], fn: string): number =>
  sumUsd(
    fileLines(stage, kind).filter((l) => l.service === 'Lambda' && l.item.startsWith(`${fn}:`)),
  );

describe('cost model', () => {
  it('prices a processor run from the measured rate and the stage memory of its kind', () => {
    // 100 MB of log at the measured 7.7 MiB/s plus the measured I/O, at 2048 MB on arm64.
    const seconds = 100e6 / 1024 ** 2 / MEASURED.logMibPerSecond.value + MEASURED.ioMs.value / 1000;
    const expected = 2 * seconds * PRICES.lambdaArmGbSecond.usd + PRICES.lambdaRequest.usd;
    expect(lambdaUsd(prod, 'log', 'process-logs')).toBeCloseTo(expected, 12);

    // Half the memory, half the GB-seconds; x86_64 at its own price.
    const halved: StageConfig = {
      ...prod,
      processing: { ...prod.processing, logs: { ...prod.processing.logs, memoryMb: 1024 } },
    };
    expect(lambdaUsd(halved, 'log', 'process-logs') - PRICES.lambdaRequest.usd).toBeCloseTo(
      (expected - PRICES.lambdaRequest.usd) / 2,
      12,
    );
    const x86: StageConfig = { ...prod, architecture: 'x86_64' };
    expect(lambdaUsd(x86, 'log', 'process-logs')).toBeGreaterThan(expected);
  });

  it('breaks every kind down by service, the per-kind figures adding up to the total', () => {
    const result = estimate(prod, 2e6, parseMix('image=0.5,csv=0.25,log=0.15,video=0.1'));
    const services = Object.values(result.processing.byService).reduce((a, b) => a + b, 0);
    const kinds = Object.values(result.processing.byKind).reduce((a, b) => a + b, 0);
    expect(services).toBeCloseTo(result.processing.usd, 6);
    expect(kinds).toBeCloseTo(result.processing.usd, 6);
    expect(result.processing.byKind.image).toBeCloseTo(
      (result.perMillion.image?.processing ?? 0) * 1,
      6,
    );
    // Only video uses Step Functions and MediaConvert.
    expect(fileLines(prod, 'image').some((l) => l.service === 'Step Functions')).toBe(false);
    expect(fileLines(prod, 'video').some((l) => l.service === 'MediaConvert')).toBe(true);
    // Larger files cost more to keep.
    expect(sumUsd(storageLines('log'))).toBeGreaterThan(sumUsd(storageLines('csv')));
    expect(sumUsd(storageLines('csv'))).toBeGreaterThan(sumUsd(storageLines('image')));
  });

  it('scales linearly with the number of files', () => {
    const one = estimate(prod, 1e6, { image: 1 });
    const ten = estimate(prod, 1e7, { image: 1 });
    expect(ten.processing.usd).toBeCloseTo(one.processing.usd * 10, 6);
    expect(ten.idlePerMonth.usd).toBe(one.idlePerMonth.usd);
  });

  it("prices the idle stage from its settings: Aurora's minimum, alarms, archive", () => {
    const aurora = (stage: StageConfig) =>
      sumUsd(idleLines(stage).filter((l) => l.service === 'Aurora'));
    expect(aurora(prod)).toBeCloseTo(0.5 * 730 * PRICES.auroraAcuHour.usd, 6);
    expect(aurora(dev)).toBe(0);
    // Five kinds: six DLQs, five backlogs, five error rates of two metrics, four more, and the
    // video workflow's three.
    expect(alarmMetrics(prod)).toBe(28);
    expect(alarmMetrics({ ...prod, notificationSender: 'a@example.com' })).toBe(29);
    // A stage without an event archive pays nothing for it.
    const archived = (stage: StageConfig) =>
      fileLines(stage, 'image').some((l) => l.item === 'event archived (GB)');
    expect(archived(prod)).toBe(true);
    expect(archived({ ...prod, eventArchiveDays: 0 })).toBe(false);
  });

  it('reads a mix, and says what is wrong with a bad one', () => {
    expect(parseMix('image=0.7, csv=0.2,log=0.1')).toEqual({ image: 0.7, csv: 0.2, log: 0.1 });
    expect(parseMix('tabular=0.5,logs=0.5')).toEqual({ csv: 0.5, log: 0.5 });
    expect(() => parseMix('image=0.7,csv=0.2')).toThrow(/add up to 0.9, not 1/);
    expect(() => parseMix('image=0.5,pdf=0.5')).toThrow(
      /unknown kind "pdf".*image, csv, log, video/,
    );
    expect(() => parseMix('image=0.5,image=0.5')).toThrow(/named twice/);
    expect(() => parseMix('image=1.5,csv=-0.5')).toThrow(/from 0 to 1/);
    expect(() => parseMix('image')).toThrow(/kind=share/);
    expect(() => parseMix('')).toThrow(/empty/);
    expect(parseFiles('1e6')).toBe(1e6);
    expect(parseFiles('1_000_000')).toBe(1e6);
    expect(() => parseFiles('0')).toThrow(/positive/);
    expect(() => parseFiles('many')).toThrow(/positive/);
  });
});

describe('npm run cost', () => {
  const cost = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'scripts/cost.ts', ...args], { timeout: 60_000 });

  it('prints one JSON object for a mix', async () => {
    const { stdout } = await cost('--files', '1e6', '--mix', 'image=0.7,csv=0.2,log=0.1', '--json');
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ stage: 'prod', files: 1e6, pricesReadOn: '2026-12-01' });
    expect(Object.keys(result.processing.byKind)).toEqual(['image', 'csv', 'log']);
    expect(result.idlePerMonth.usd).toBeGreaterThan(40);
  }, 60_000);

  it('prints a table by service and kind', async () => {
    const { stdout } = await cost('--mix', 'image=0.5,video=0.5');
    expect(stdout).toMatch(/Processing \(one-off\)\s+image\s+video\s+total/);
    expect(stdout).toMatch(/MediaConvert/);
    expect(stdout).toMatch(/Stage prod with no file, each month/);
  }, 60_000);

  it('refuses a bad mix, an unknown kind and a local stage with exit code 2', async () => {
    const cases = [
      [['--mix', 'image=0.5,csv=0.2'], /add up to 0.7, not 1/],
      [['--mix', 'image=0.5,gif=0.5'], /unknown kind "gif"/],
      [['--stage', 'local'], /runs on this machine/],
      [['--stage', 'staging'], /not a stage/],
      [['--bogus'], /Unknown option '--bogus'/],
    ] as const;
    const failures = await Promise.all(
      cases.map(([args]) =>
        cost(...args).then(
          () => undefined,
          (error: { code: number; stderr: string }) => error,
        ),
      ),
    );
    cases.forEach(([, message], i) => {
      expect(failures[i]?.code).toBe(2);
      expect(failures[i]?.stderr).toMatch(message);
    });
  }, 60_000);

  it('explains itself with --help', async () => {
    const { stdout } = await cost('--help');
    expect(stdout).toMatch(/--mix <shares>/);
    expect(stdout).toMatch(/docs\/cost\.md/);
  }, 60_000);
});
