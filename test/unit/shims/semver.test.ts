import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { gte } from '#shared/shims/semver.ts';

// The package the shim stands in for, as the X-Ray SDK would load it outside a bundle.
const semver = createRequire(import.meta.url)('semver') as {
  gte: (a: string, b: string) => boolean;
};

const MAINS = ['0.0.0', '0.0.1', '0.1.0', '1.0.0', '1.2.3', '1.10.0', '2.0.0', '20.20.2', '22.1.0'];
const PRERELEASES = [
  '',
  '-0',
  '-1',
  '-11',
  '-alpha',
  '-alpha.1',
  '-alpha.10',
  '-alpha.beta',
  '-alpha.beta.1',
  '-beta',
  '-beta.2',
  '-rc.1',
  '-0a',
  '-x-y',
  '--',
];
const VERSIONS = [
  ...MAINS.flatMap((main) => PRERELEASES.map((pre) => `${main}${pre}`)),
  '1.2.3+build.5',
  '1.2.3-rc.1+exp.sha.5114f85',
  'v1.2.3',
  ' 1.2.3 ',
];
const INVALID = [
  '',
  '1.2',
  '1',
  '01.2.3',
  '1.02.3',
  '1.2.3-01',
  '1.2.3-',
  '1.2.3+',
  '=1.2.3',
  'V1.2.3',
  'a.b.c',
  '1.2.3-a..b',
  '>=1.2.3',
  '1.2.3.4',
  'x'.repeat(300),
];

describe('semver shim', () => {
  it(`answers gte as the semver package does for ${VERSIONS.length ** 2} pairs`, () => {
    const differences: string[] = [];
    for (const a of VERSIONS) {
      for (const b of VERSIONS) {
        if (gte(a, b) !== semver.gte(a, b)) differences.push(`${a} >= ${b}`);
      }
    }
    expect(differences).toEqual([]);
  });

  it.each(INVALID)('refuses %j with a TypeError, as the semver package does', (version) => {
    expect(() => semver.gte(version, '1.0.0')).toThrow(TypeError);
    expect(() => gte(version, '1.0.0')).toThrow(TypeError);
    expect(() => gte('1.0.0', version)).toThrow(TypeError);
  });

  it('refuses what is not a string', () => {
    expect(() => gte(undefined as unknown as string, '1.0.0')).toThrow(/Must be a string/);
  });

  it('answers the checks the X-Ray SDK makes', () => {
    expect(gte(process.versions.node, '8.0.0')).toBe(true);
    expect(gte('2.7.15', '2.7.15')).toBe(true);
    expect(gte('2.7.14', '2.7.15')).toBe(false);
  });
});
