import { vi } from 'vitest';

/**
 * The settings a handler reads at import, for a unit test: a region and dummy credentials (the
 * SDK clients are mocked), no database URL (so the embedded PGlite is used), plus `settings`.
 */
export const stubFunctionEnv = (settings: Record<string, string>): void => {
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  vi.stubEnv('DATABASE_URL', '');
  for (const [name, value] of Object.entries(settings)) vi.stubEnv(name, value);
};
