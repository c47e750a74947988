import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileSessionStore, localJsonPath } from '../../../cli/lib/config.ts';
import { CognitoAuth } from '../../../client/src/index.ts';

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

const jwt = (expSeconds: number): string => {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ exp: expSeconds })}.sig`;
};

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the CLI session store (credentials.json)', () => {
  it('writes refreshed tokens back and keeps the file private (0600)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncflow-config-'));
    dirs.push(dir);
    const path = join(dir, 'credentials.json');
    const store = fileSessionStore(dir, 'dev', 'client-1');
    store.save({
      idToken: jwt(Math.floor(Date.now() / 1000) + 20),
      accessToken: 'old-access',
      refreshToken: 'refresh-1',
      expiresAt: Date.now() + 20_000,
      email: 'ana@example.com',
    });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // A file someone loosened since: the refresh's write makes it private again.
    chmodSync(path, 0o644);
    // Another profile's session in the same file survives the write.
    const other = JSON.parse(readFileSync(path, 'utf8'));
    other.prod = { ...other.dev, email: 'ops@example.com' };
    writeFileSync(path, JSON.stringify(other));

    const newId = jwt(Math.floor(Date.now() / 1000) + 3600);
    const auth = new CognitoAuth(
      { region: 'eu-west-1', userPoolClientId: 'client-1', endpoint: 'https://idp.test/' },
      store,
      async () =>
        new Response(
          JSON.stringify({ AuthenticationResult: { IdToken: newId, AccessToken: 'new-access' } }),
          { status: 200 },
        ),
    );
    expect(await auth.token()).toBe(newId);

    expect(statSync(path).mode & 0o777).toBe(0o600);
    const written = JSON.parse(readFileSync(path, 'utf8'));
    expect(written.dev).toMatchObject({
      idToken: newId,
      accessToken: 'new-access',
      refreshToken: 'refresh-1',
      userPoolClientId: 'client-1',
    });
    expect(written.prod.email).toBe('ops@example.com');
    // A second run reads the refreshed session, not the old one.
    expect(fileSessionStore(dir, 'dev', 'client-1').load()?.idToken).toBe(newId);
  });
});
