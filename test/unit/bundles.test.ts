import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { deployedBundleOptions, functionNames } from '../../infra/bundling.ts';

/** What a function's deployed bundle takes in, as esbuild's metafile tells it. */
const bundleOf = async (name: string) => {
  const result = await build({
    ...deployedBundleOptions(name),
    write: false,
    outdir: '/tmp/syncflow-bundle-test',
    metafile: true,
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
  it.each(functionNames().filter((name) => name !== 'processor'))(
    '%s carries neither sharp nor zod',
    async (name) => {
      const { inputs, externals } = await bundleOf(name);
      expect(externals).not.toContain('sharp');
      expect(inputs.filter((path) => /node_modules\/(zod|sharp)\//.test(path))).toEqual([]);
    },
  );

  it('the processor does carry sharp, so the check above can fail', async () => {
    const { externals } = await bundleOf('processor');
    expect(externals).toContain('sharp');
  });
});
