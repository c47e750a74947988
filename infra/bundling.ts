import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';

/**
 * How every function is bundled, shared by the CDK constructs and the bundle benchmark so the
 * benchmark measures what is deployed.
 */
export const BUNDLING = {
  format: 'esm',
  // node20: the emulator runs bundles on this machine's Node.js 20; AWS runs them on 24.
  target: 'node20',
  mainFields: ['module', 'main'],
  // ESM bundles of CommonJS dependencies still call require().
  banner:
    "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  // PGlite is the embedded database of tests and tools; no function opens it.
  external: ['@electric-sql/pglite'],
  // Native: installed beside the bundle for the target CPU instead, by the functions that use them.
  nativeModules: ['sharp', '@duckdb/node-api'],
  // The X-Ray SDK loads all of semver for two `gte` calls; see shared/shims/semver.ts.
  // mediainfo.js's "module" export is its browser build (no file system): take its Node.js one.
  alias: {
    semver: join(import.meta.dirname, '..', 'shared', 'shims', 'semver.ts'),
    'mediainfo.js': join(
      import.meta.dirname,
      '..',
      'node_modules',
      'mediainfo.js',
      'dist',
      'esm',
      'index.js',
    ),
  },
  // Whitespace and syntax are minified, names are not: stack traces in the logs name the real
  // functions and classes without source maps (which cost every cold start:
  // StageConfig.sourceMaps). Measured in docs/benchmarks.md: short names made the bundles
  // smaller but no faster to load, and esbuild's keepNames (names kept through __name calls)
  // made them slower.
  minify: { whitespace: true, syntax: true, identifiers: false },
} as const;

/**
 * MediaInfo's WebAssembly, loaded at run time from beside the bundle by the video probe
 * (shared/processing/video/probe.ts): a path from the repository root.
 */
export const MEDIAINFO_WASM_ASSET = 'node_modules/mediainfo.js/dist/MediaInfoModule.wasm';

/**
 * The database driver a stage does not use stays out of its bundles: a smaller bundle is a
 * faster cold start. Opening the other driver then fails with "Cannot find package", which only
 * a stage misconfigured by hand could reach.
 */
export const unusedDriverModules = (database: 'aurora' | 'postgres'): string[] =>
  database === 'aurora' ? ['pg', 'pg-native'] : ['@aws-sdk/client-rds-data'];

const FUNCTIONS_DIR = join(import.meta.dirname, '..', 'functions');

/** Every Lambda handler: one file per function under functions/. */
export const functionNames = (): string[] =>
  readdirSync(FUNCTIONS_DIR)
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.slice(0, -3))
    .sort();

/**
 * One function's esbuild settings as the Aurora stages deploy it by default (without
 * node-postgres, without source maps), for the tools that build bundles outside CDK: the bundle
 * benchmark and the bundle test.
 */
export const deployedBundleOptions = (name: string): BuildOptions => ({
  entryPoints: [join(FUNCTIONS_DIR, `${name}.ts`)],
  bundle: true,
  platform: 'node',
  format: BUNDLING.format,
  target: BUNDLING.target,
  mainFields: [...BUNDLING.mainFields],
  banner: { js: BUNDLING.banner },
  external: [...BUNDLING.external, ...BUNDLING.nativeModules, ...unusedDriverModules('aurora')],
  alias: { ...BUNDLING.alias },
  minifyWhitespace: BUNDLING.minify.whitespace,
  minifySyntax: BUNDLING.minify.syntax,
  minifyIdentifiers: BUNDLING.minify.identifiers,
  logLevel: 'silent',
});
