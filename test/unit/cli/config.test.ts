import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localJsonPath } from '../../../cli/lib/config.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');

describe('localJsonPath', () => {
  it('finds the stack where npm start keeps it: .syncflow, SYNCFLOW_STATE_DIR, or as named', () => {
    expect(localJsonPath({})).toBe(join(REPO, '.syncflow', 'local.json'));
    expect(localJsonPath({ SYNCFLOW_STATE_DIR: '/tmp/kept' })).toBe('/tmp/kept/local.json');
    expect(
      localJsonPath({ SYNCFLOW_STATE_DIR: '/tmp/kept', SYNCFLOW_LOCAL_JSON: '/tmp/other.json' }),
    ).toBe('/tmp/other.json');
  });
});
