import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { BUNDLING, unusedDriverModules } from '../../infra/bundling.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** What a function's deployed bundle takes in, as esbuild's metafile tells it. */
const bundleOf = async (name: string) => {
  const result = await build({
    entryPoints: [join(ROOT, 'functions', `${name}.ts`)],
    bundle: true,
    write: false,
    outdir: '/tmp/syncflow-bundle-test',
    platform: 'node',
    format: BUNDLING.format,
    target: BUNDLING.target,
    mainFields: [...BUNDLING.mainFields],
    external: [...BUNDLING.external, ...BUNDLING.nativeModules, ...unusedDriverModules('aurora')],
    metafile: true,
    logLevel: 'silent',
  });
  const output = Object.values(result.metafile.outputs)[0];
  return {
    inputs: Object.keys(result.metafile.inputs),
    externals: (output?.imports ?? []).filter((i) => i.external).map((i) => i.path),
  };
};

/**
 * Only the processor carries sharp (a native library) and the parser's zod schemas; an API
 * function that pulled them in through a shared module would start slower, or not at all where
 * sharp is not installed beside it.
 */
describe('function bundles', () => {
  it.each([
    'upload-api',
    'files-api',
    'authorizer',
    'migrate',
    'ws-authorizer',
    'ws-connections',
    'notifier',
    'mailer',
  ])('%s carries neither sharp nor zod', async (name) => {
    const { inputs, externals } = await bundleOf(name);
    expect(externals).not.toContain('sharp');
    expect(inputs.filter((path) => /node_modules\/(zod|sharp)\//.test(path))).toEqual([]);
  });

  it('the processor does carry sharp, so the check above can fail', async () => {
    const { externals } = await bundleOf('processor');
    expect(externals).toContain('sharp');
  });
});
