import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateFunctionCommand,
  GetFunctionConfigurationCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { build } from 'esbuild';
import { BUNDLING, unusedDriverModules } from '../../infra/bundling.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

export interface EmulatorFunction {
  /** File name under functions/, without `.ts`. */
  readonly entry: string;
  readonly name: string;
  readonly environment: Record<string, string>;
  readonly timeoutSeconds?: number;
  readonly memoryMb?: number;
  /** Copies this machine's sharp beside the bundle, as the deployed functions carry theirs. */
  readonly withSharp?: boolean;
  /** Files copied beside the bundle, from the repository root (as SyncFlowFunction's `assets`). */
  readonly assets?: readonly string[];
}

/**
 * Bundles a handler as the stack does (ESM, the project's esbuild settings, node-postgres as on
 * the local stage), zips it and creates it in the emulator, which runs it on this machine's
 * Node.js. Returns the function's ARN.
 */
export const deployEmulatorFunction = async (
  lambda: LambdaClient,
  workDir: string,
  fn: EmulatorFunction,
): Promise<string> => {
  const dir = join(workDir, fn.name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await build({
    entryPoints: [join(ROOT, 'functions', `${fn.entry}.ts`)],
    outfile: join(dir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: BUNDLING.format,
    target: BUNDLING.target,
    mainFields: [...BUNDLING.mainFields],
    banner: { js: BUNDLING.banner },
    external: [...BUNDLING.external, ...BUNDLING.nativeModules, ...unusedDriverModules('postgres')],
    alias: { ...BUNDLING.alias },
    logLevel: 'silent',
  });
  const entries = ['index.mjs'];
  for (const asset of fn.assets ?? []) {
    const name = asset.split('/').pop() ?? asset;
    await cp(join(ROOT, asset), join(dir, name));
    entries.push(name);
  }
  if (fn.withSharp) {
    for (const module of ['sharp', '@img', 'detect-libc', 'semver']) {
      await cp(join(ROOT, 'node_modules', module), join(dir, 'node_modules', module), {
        recursive: true,
      });
    }
    entries.push('node_modules');
  }
  const zip = join(workDir, `${fn.name}.zip`);
  await run('python3', ['-m', 'zipfile', '-c', zip, ...entries], { cwd: dir });
  const created = await lambda.send(
    new CreateFunctionCommand({
      FunctionName: fn.name,
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: 'arn:aws:iam::000000000000:role/syncflow-test',
      Code: { ZipFile: await readFile(zip) },
      Timeout: fn.timeoutSeconds ?? 60,
      MemorySize: fn.memoryMb ?? 512,
      Environment: { Variables: fn.environment },
    }),
  );
  const arn = created.FunctionArn;
  if (!arn) throw new Error(`The emulator gave ${fn.name} no ARN`);
  // Wait until it may be invoked (AWS: State Active; the emulator is there at once).
  for (let i = 0; i < 50; i += 1) {
    const config = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: fn.name }),
    );
    if (config.State === undefined || config.State === 'Active') break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return arn;
};
