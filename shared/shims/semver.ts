/**
 * The one function of the `semver` package that the function bundles call, standing in for the
 * package there: infra/bundling.ts aliases `semver` to this module.
 *
 * Powertools Tracer loads the X-Ray SDK, which (with its cls-hooked dependency) requires `semver`
 * only to call `gte`, on Node.js's version and on the version of an AWS SDK v2 it is asked to
 * capture. The real package compiles some forty regular expressions as it loads: about 0.15 of an
 * API function's cold-start ratio in `npm run bench -- bundle`, for two version checks.
 * test/unit/bundles.test.ts fails if a bundled module calls anything else of `semver`, and
 * test/unit/shims/semver.test.ts holds this module to the real package's answers.
 */

const NUMBER = '0|[1-9]\\d*';
const PRERELEASE_ID = `(?:${NUMBER}|\\d*[A-Za-z-][0-9A-Za-z-]*)`;
const BUILD_ID = '[0-9A-Za-z-]+';
const VERSION = new RegExp(
  `^v?(${NUMBER})\\.(${NUMBER})\\.(${NUMBER})` +
    `(?:-(${PRERELEASE_ID}(?:\\.${PRERELEASE_ID})*))?` +
    `(?:\\+${BUILD_ID}(?:\\.${BUILD_ID})*)?$`,
);
const MAX_LENGTH = 256;

interface Version {
  readonly main: readonly number[];
  /** Numeric identifiers as numbers, the others as strings. */
  readonly prerelease: readonly (number | string)[];
}

const parse = (version: unknown): Version => {
  if (typeof version !== 'string') {
    throw new TypeError(`Invalid version. Must be a string. Got type "${typeof version}".`);
  }
  if (version.length > MAX_LENGTH) {
    throw new TypeError(`version is longer than ${MAX_LENGTH} characters`);
  }
  const match = VERSION.exec(version.trim());
  if (!match) throw new TypeError(`Invalid Version: ${version}`);
  const main = [match[1], match[2], match[3]].map(Number);
  if (main.some((part) => part > Number.MAX_SAFE_INTEGER)) {
    throw new TypeError(`Invalid Version: ${version} (a number is too large)`);
  }
  const prerelease = (match[4]?.split('.') ?? []).map((id) => (/^\d+$/.test(id) ? Number(id) : id));
  return { main, prerelease };
};

const sign = (difference: number): number => Math.sign(difference);

/** SemVer 2.0 precedence of two pre-release identifiers: numbers below words. */
const compareIdentifiers = (a: number | string, b: number | string): number => {
  if (typeof a === 'number' && typeof b === 'number') return sign(a - b);
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
};

const compare = (a: Version, b: Version): number => {
  for (let i = 0; i < 3; i++) {
    const order = sign((a.main[i] ?? 0) - (b.main[i] ?? 0));
    if (order !== 0) return order;
  }
  // A pre-release comes before its release; build metadata never counts.
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return sign(b.prerelease.length - a.prerelease.length);
  }
  for (let i = 0; i < Math.max(a.prerelease.length, b.prerelease.length); i++) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const order = compareIdentifiers(x, y);
    if (order !== 0) return order;
  }
  return 0;
};

/** `a >= b` by SemVer 2.0 precedence; throws a TypeError on anything but a valid version string. */
export const gte = (a: string, b: string): boolean => compare(parse(a), parse(b)) >= 0;
