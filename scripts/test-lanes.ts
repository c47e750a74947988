/**
 * Runs the suites `npm test` runs after lint and typecheck, three lanes at once: the end-to-end
 * suite on a stack of its own with the functions on PostgreSQL's wire protocol (what `npm start`
 * runs), the pipeline's, the upload paths' and the integrity end-to-end tests on a second stack
 * with the functions on the Data API driver through its double (what AWS runs; the integrity
 * tests run there only) followed by the kept local stack's
 * test (`npm start` restarted and reset, test/local-stack), and the unit, infra and integration
 * suites one after another. The end-to-end suite mostly waits on queues, timeouts and the
 * emulator, so the other lanes cost little wall time beside it (the whole run took over sixteen
 * minutes in a row). The end-to-end suite prints as it goes; each other lane's output is printed
 * whole when it ends, so nothing interleaves. Exits with the first failing lane's code.
 *
 * `--e2e-only` leaves out the third lane. Each suite alone: `npm run test:unit`, `test:infra`,
 * `test:integration`, `test:e2e`, `test:e2e:data-api`, `test:local-stack`.
 */
import { type ChildProcess, spawn } from 'node:child_process';

interface Step {
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

interface Lane {
  readonly name: string;
  /** Run one after another; the first failure ends the lane. */
  readonly steps: readonly Step[];
  /** Keep its output until it ends. */
  readonly buffered: boolean;
}

const vitest = (...args: string[]): Step => ({ args: ['vitest', 'run', ...args] });

/**
 * The end-to-end files run a second time with the functions on the Data API driver: the
 * pipeline, and the upload paths with statements of their own (a batch's multi-row insert,
 * multipart completion and rejection). Together about a minute more than the pipeline alone.
 */
const DATA_API_E2E_FILES = [
  'test/e2e/pipeline.test.ts',
  'test/e2e/upload-batch.test.ts',
  'test/e2e/multipart.test.ts',
];

/**
 * End-to-end files that run on the Data API stack only, not on both: the integrity tests wait
 * out sweeps and redeliveries (over two minutes) and hold no driver-specific assumption, and the
 * end-to-end suite is CI's longest lane (a fresh-clone run took 827 s with them there).
 */
const DATA_API_ONLY_E2E_FILES = ['test/e2e/integrity.test.ts'];

const LANES: readonly Lane[] = [
  {
    name: 'end-to-end suite',
    steps: [
      vitest('--project', 'e2e', ...DATA_API_ONLY_E2E_FILES.flatMap((file) => ['--exclude', file])),
    ],
    buffered: false,
  },
  {
    name: 'end-to-end pipeline and uploads on the Data API driver, then the kept local stack',
    steps: [
      {
        ...vitest('--project', 'e2e', ...DATA_API_E2E_FILES, ...DATA_API_ONLY_E2E_FILES),
        env: { SYNCFLOW_E2E_DATABASE: 'data-api' },
      },
      // `npm start`'s kept state across a restart and --reset (minutes): this lane ends long
      // before the end-to-end suite, the critical path.
      vitest('--project', 'local-stack'),
    ],
    buffered: true,
  },
  {
    name: 'unit, infra and integration suites',
    // One worker each: the machine's other core is the end-to-end lanes' (with two, the suite's
    // browser and CLI tests ran half again as long beside them).
    steps: [
      vitest('--project', 'unit', '--maxWorkers', '1'),
      vitest('--project', 'infra', '--maxWorkers', '1'),
      vitest('--project', 'integration'),
    ],
    buffered: true,
  },
];

const children = new Set<ChildProcess>();

const runStep = (step: Step, sink: ((chunk: Buffer) => void) | undefined): Promise<number> =>
  new Promise((resolve) => {
    const child = spawn('npx', [...step.args], {
      env: { ...process.env, ...step.env },
      stdio: ['ignore', sink ? 'pipe' : 'inherit', sink ? 'pipe' : 'inherit'],
      // Its own process group, so an interrupt stops the stack it started too.
      detached: true,
    });
    children.add(child);
    child.stdout?.on('data', (chunk: Buffer) => sink?.(chunk));
    child.stderr?.on('data', (chunk: Buffer) => sink?.(chunk));
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve(code ?? (signal ? 1 : 0));
    });
    child.on('error', (error) => {
      sink?.(Buffer.from(`${step.args.join(' ')} could not start: ${error.message}\n`));
      resolve(1);
    });
  });

const runLane = async (lane: Lane): Promise<number> => {
  const started = Date.now();
  const chunks: Buffer[] = [];
  const sink = lane.buffered ? (chunk: Buffer) => chunks.push(chunk) : undefined;
  let status = 0;
  for (const step of lane.steps) {
    status = await runStep(step, sink);
    if (status !== 0) break;
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  if (lane.buffered) {
    process.stdout.write(`\n===== ${lane.name} (ran beside the end-to-end suite) =====\n`);
    process.stdout.write(Buffer.concat(chunks));
  }
  process.stdout.write(
    `\n===== ${lane.name}: ${status === 0 ? 'passed' : `FAILED (exit ${status})`} in ${seconds} s =====\n`,
  );
  return status;
};

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const child of children) {
      if (child.pid === undefined) continue;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // Gone already.
      }
    }
  });
}

const lanes = process.argv.includes('--e2e-only') ? LANES.slice(0, 2) : LANES;
const codes = await Promise.all(lanes.map(runLane));
process.exit(codes.find((code) => code !== 0) ?? 0);
