import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildConsole } from '../console/build.ts';

/** The console's goal: its JavaScript at most this many bytes gzipped. */
const GOAL_JS_GZIP = 60 * 1024;

/** `console-bundle`: the console as served, raw and gzipped (level 9, as CDNs compress). */
export const benchConsoleBundle = () => {
  const dir = join(import.meta.dirname, '.out', 'console');
  buildConsole(dir);
  const size = (file: string) => {
    const data = readFileSync(join(dir, file));
    return { bytes: data.length, gzip: gzipSync(data, { level: 9 }).length };
  };
  const js = size('app.js');
  const css = size('app.css');
  return {
    name: 'console-bundle',
    jsBytes: js.bytes,
    jsGzipBytes: js.gzip,
    cssBytes: css.bytes,
    cssGzipBytes: css.gzip,
    goalJsGzipBytes: GOAL_JS_GZIP,
    withinGoal: js.gzip <= GOAL_JS_GZIP,
  };
};
