import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

const HERE = import.meta.dirname;

/** What the console is made of once built: the page, one script, one stylesheet. */
export interface ConsoleBuild {
  readonly dir: string;
  readonly files: readonly string[];
}

/**
 * Builds the console into `outDir`: index.html as written, app.js (the client library and the
 * views, minified, ES2022 for current browsers) and app.css. No inline script anywhere, so the
 * page runs under a Content-Security-Policy without 'unsafe-inline'. `config` (the stack's
 * addresses) goes to config.json beside it when given; in AWS the deploy writes that file.
 */
export const buildConsole = (outDir: string, config?: Record<string, unknown>): ConsoleBuild => {
  mkdirSync(outDir, { recursive: true });
  buildSync({
    entryPoints: { app: join(HERE, 'src', 'main.ts') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    outdir: outDir,
    legalComments: 'none',
    logLevel: 'error',
  });
  buildSync({
    entryPoints: { app: join(HERE, 'src', 'styles.css') },
    bundle: true,
    minify: true,
    outdir: outDir,
    logLevel: 'error',
  });
  copyFileSync(join(HERE, 'index.html'), join(outDir, 'index.html'));
  if (config) writeFileSync(join(outDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return {
    dir: outDir,
    files: ['index.html', 'app.js', 'app.css', ...(config ? ['config.json'] : [])],
  };
};
