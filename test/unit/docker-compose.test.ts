import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { STAGES } from '../../infra/stages.ts';
import { PINNED_PACKAGES } from '../../scripts/lib/ministack.ts';
import { LOCALSTACK_FUNCTIONS_VIEW } from '../support/targets.ts';

interface Service {
  image: string;
  ports?: string[];
  environment?: Record<string, string>;
  command?: string;
  profiles?: string[];
}

const compose = parse(
  readFileSync(join(import.meta.dirname, '..', '..', 'docker-compose.localstack.yml'), 'utf8'),
) as {
  name: string;
  services: Record<string, Service>;
};

describe('docker-compose.localstack.yml', () => {
  const { localstack, ministack, postgres } = compose.services;

  it('publishes every port on 127.0.0.1 only', () => {
    const ports = Object.values(compose.services).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  it('takes the LocalStack token from the environment and serves the emulator where the suite expects it', () => {
    expect(localstack?.environment?.LOCALSTACK_AUTH_TOKEN).toMatch(/^\$\{LOCALSTACK_AUTH_TOKEN:\?/);
    expect(localstack?.ports).toEqual(['127.0.0.1:4566:4566']);
    expect(STAGES.local?.keysEndpoint).toBe('http://127.0.0.1:4566');
    // Its functions run in containers on the compose network, under the names targets.ts uses.
    expect(localstack?.environment?.LAMBDA_DOCKER_NETWORK).toBe(`${compose.name}_default`);
    const view = { ...LOCALSTACK_FUNCTIONS_VIEW };
    expect(new URL(view.endpoint).hostname).toBe('localstack');
    expect(localstack?.ports?.[0]?.endsWith(`:${new URL(view.endpoint).port}`)).toBe(true);
    expect(new URL(view.databaseUrl).hostname).toBe('postgres');
    expect(postgres?.ports?.[0]?.endsWith(`:${new URL(view.databaseUrl).port}`)).toBe(true);
  });

  it('offers the same MiniStack version as npm start, for people without a token', () => {
    expect(ministack?.profiles).toEqual(['ministack']);
    for (const [name, version] of Object.entries(PINNED_PACKAGES)) {
      expect(ministack?.command).toContain(`${name}==${version}`);
    }
    expect(ministack?.environment).toMatchObject({ IOT_MTLS_ENABLED: '0', SFTP_ENABLED: '0' });
  });

  it("serves PostgreSQL on the local stage's default port", () => {
    const stageUrl =
      STAGES.local?.database.kind === 'postgres' ? new URL(STAGES.local.database.url) : undefined;
    expect(postgres?.ports).toEqual([`127.0.0.1:${stageUrl?.port}:5432`]);
    expect(postgres?.environment?.POSTGRES_HOST_AUTH_METHOD).toBe('trust');
  });
});
