/**
 * Runs the end-to-end suite's two passes at the same time, each on a stack of its own: the whole
 * suite with the functions on PostgreSQL's wire protocol (what `npm start` runs), and the
 * pipeline's tests with the functions on the Data API driver through its double (what AWS
 * runs). The suite mostly waits on queues, timeouts and the emulator, so the second pass costs
 * little wall time beside the first. The main pass prints as it goes; the Data API pass's output
 * is printed whole when it ends, so the two never interleave. Exits with the first failure's code.
 *
 * `npm run test:e2e` and `npm run test:e2e:data-api` run either pass alone.
 */
import { type ChildProcess, spawn } from 'node:child_process';

interface Pass {
  readonly name: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Keep its output until it ends. */
  readonly buffered: boolean;
}

const PASSES: readonly Pass[] = [
  {
    name: 'end-to-end suite',
    args: ['vitest', 'run', '--project', 'e2e'],
    env: {},
    buffered: false,
  },
  {
    name: 'end-to-end pipeline on the Data API driver',
    args: ['vitest', 'run', '--project', 'e2e', 'test/e2e/pipeline.test.ts'],
    env: { SYNCFLOW_E2E_DATABASE: 'data-api' },
    buffered: true,
  },
];

const children: ChildProcess[] = [];

const run = (pass: Pass): Promise<number> =>
  new Promise((resolve) => {
    const started = Date.now();
    const child = spawn('npx', [...pass.args], {
      env: { ...process.env, ...pass.env },
      stdio: ['ignore', pass.buffered ? 'pipe' : 'inherit', pass.buffered ? 'pipe' : 'inherit'],
      // Its own process group, so an interrupt stops the stack it started too.
      detached: true,
    });
    children.push(child);
    const chunks: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('close', (code, signal) => {
      const seconds = Math.round((Date.now() - started) / 1000);
      const status = code ?? (signal ? 1 : 0);
      if (pass.buffered) {
        process.stdout.write(`\n===== ${pass.name} (ran beside the suite) =====\n`);
        process.stdout.write(Buffer.concat(chunks));
      }
      process.stdout.write(
        `\n===== ${pass.name}: ${status === 0 ? 'passed' : `FAILED (exit ${status})`} in ${seconds} s =====\n`,
      );
      resolve(status);
    });
    child.on('error', (error) => {
      process.stderr.write(`${pass.name} could not start: ${error.message}\n`);
      resolve(1);
    });
  });

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const child of children) {
      if (child.pid !== undefined && child.exitCode === null) {
        try {
          process.kill(-child.pid, signal);
        } catch {
          // Gone already.
        }
      }
    }
  });
}

const codes = await Promise.all(PASSES.map(run));
process.exit(codes.find((code) => code !== 0) ?? 0);
