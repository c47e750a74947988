import { readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { deployedBundleOptions, functionNames } from '../../infra/bundling.ts';

/** What a function's deployed bundle takes in, as esbuild's metafile tells it. */
const inspect = async (name: string) => {
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
    /** The bundled modules that require `semver`, with what it resolved to. */
    semverImporters: Object.entries(result.metafile.inputs).flatMap(([path, input]) =>
      input.imports
        .filter((i) => i.original === 'semver')
        .map((i) => ({ importer: path, resolved: i.path })),
    ),
  };
};

const bundles = new Map<string, ReturnType<typeof inspect>>();
/** Each function is built once for all the checks below. */
const bundleOf = (name: string): ReturnType<typeof inspect> => {
  const known = bundles.get(name) ?? inspect(name);
  bundles.set(name, known);
  return known;
};

/** The members of `semver` a module's source uses (`semver.gte(...)`, `semver_1.gte(...)`). */
const semverMembersUsedBy = (file: string): string[] => {
  const source = readFileSync(file, 'utf8');
  return [...new Set([...source.matchAll(/\bsemver\w*\.(\w+)/g)].map((m) => m[1] ?? ''))];
};

const isKindFunction = (name: string): boolean => name.startsWith('process-');

/**
 * Only the kinds' functions carry the parser's zod schemas, and each only its own native
 * library: sharp for images, DuckDB for tabular data and logs, neither for other files or
 * videos (the video workflow's poster step carries sharp: it makes the same derivatives an
 * image gets). A function that pulled one in through a shared module would start slower, or
 * not at all where the library is not installed beside it.
 */
const NATIVES: Record<string, string[]> = {
  'process-image': ['sharp'],
  'process-tabular': ['@duckdb/node-api'],
  'process-logs': ['@duckdb/node-api'],
  'process-other': [],
  'process-video': [],
};

describe('function bundles', () => {
  it.each(functionNames().filter((name) => !isKindFunction(name) && name !== 'video-poster'))(
    '%s carries neither sharp, DuckDB nor zod',
    async (name) => {
      const { inputs, externals } = await bundleOf(name);
      expect(externals.filter((e) => e === 'sharp' || e.startsWith('@duckdb/'))).toEqual([]);
      expect(inputs.filter((path) => /node_modules\/(zod|sharp|@duckdb)\//.test(path))).toEqual([]);
    },
  );

  it.each(functionNames().filter(isKindFunction))(
    "%s loads its own native library and no other kind's",
    async (name) => {
      const { externals } = await bundleOf(name);
      const natives = externals.filter((e) => e === 'sharp' || e.startsWith('@duckdb/'));
      expect([...new Set(natives)].sort()).toEqual(NATIVES[name]);
    },
  );

  it('video-poster carries sharp beside it, and no zod', async () => {
    const { inputs, externals } = await bundleOf('video-poster');
    expect(externals).toContain('sharp');
    expect(inputs.filter((path) => /node_modules\/zod\//.test(path))).toEqual([]);
  });

  /**
   * `semver` is aliased to a one-function shim (shared/shims/semver.ts): a dependency that starts
   * calling anything else of it would break at run time, so every bundled caller is read here.
   */
  it.each(functionNames())(
    '%s takes the semver shim, and its callers use only gte',
    async (name) => {
      const { inputs, semverImporters } = await bundleOf(name);
      expect(inputs.filter((path) => path.includes('node_modules/semver/'))).toEqual([]);
      for (const { importer, resolved } of semverImporters) {
        expect(resolved).toBe('shared/shims/semver.ts');
        expect({ importer, members: semverMembersUsedBy(importer) }).toEqual({
          importer,
          members: ['gte'],
        });
      }
    },
  );

  it('the X-Ray SDK still asks for semver, so the check above has callers to read', async () => {
    const { semverImporters } = await bundleOf('upload-api');
    expect(semverImporters.map((i) => i.importer)).toEqual(
      expect.arrayContaining([expect.stringMatching(/aws-xray-sdk-core\/.*\.js$/)]),
    );
  });

  /**
   * The client library, the console and the CLI (with its argument parser and progress bars)
   * are for people's machines: no function loads them.
   */
  it.each(functionNames())(
    '%s carries nothing of the client library, the console or the CLI',
    async (name) => {
      const { inputs } = await bundleOf(name);
      expect(inputs.filter((path) => /^(client|console|cli)\//.test(path))).toEqual([]);
      expect(
        inputs.filter((path) =>
          /node_modules\/(commander|cli-progress|tinyglobby|ws)\//.test(path),
        ),
      ).toEqual([]);
    },
  );

  it('the console does carry the client library and no AWS SDK, so the checks can fail', async () => {
    const result = await build({
      entryPoints: ['console/src/main.ts'],
      bundle: true,
      write: false,
      outdir: '/tmp/syncflow-console-test',
      metafile: true,
      format: 'esm',
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('client/src/upload.ts');
    expect(inputs.filter((path) => path.includes('node_modules/'))).toEqual([]);
  });

  it('every kind has a function, so the checks above cover each', () => {
    expect(functionNames().filter(isKindFunction).sort()).toEqual(Object.keys(NATIVES).sort());
  });
});
