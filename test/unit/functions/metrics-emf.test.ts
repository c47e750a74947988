import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { database } from '#shared/adapters/db/instance.ts';
import { migrate } from '#shared/adapters/db/migrate.ts';
import { apiEvent, lambdaContext } from '../../support/events.ts';
import { stubFunctionEnv } from '../../support/function-env.ts';

// Metrics on for this file only: the EMF document the function prints is what is checked.
stubFunctionEnv({
  BUCKET_NAME: 'uploads-bucket',
  MAX_UPLOAD_BYTES: '1048576',
  POWERTOOLS_METRICS_DISABLED: 'false',
  POWERTOOLS_SERVICE_NAME: 'upload-api',
});
mockClient(S3Client);
const { handler } = await import('../../../functions/upload-api.ts');

describe('metrics', () => {
  beforeAll(async () => {
    await migrate((await database()).db);
  });

  it('carry the fileId as EMF metadata, never as a dimension (one billed metric per file)', async () => {
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      printed.push(String(chunk));
      return true;
    });
    const logSpy = vi.spyOn(console, 'log').mockImplementation((...args) => {
      printed.push(args.map(String).join(' '));
    });
    let response: Awaited<ReturnType<typeof handler>>;
    try {
      response = await handler(
        apiEvent({
          method: 'POST',
          path: '/uploads',
          ownerId: 'owner-emf',
          body: JSON.stringify({ filename: 'a.txt', contentType: 'text/plain', size: 5 }),
        }),
        lambdaContext('upload-api'),
      );
    } finally {
      spy.mockRestore();
      logSpy.mockRestore();
    }
    const { fileId } = JSON.parse(response.body);
    const emf = printed
      .flatMap((text) => text.split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line));
    expect(emf).toHaveLength(1);
    const [document] = emf;
    expect(document.fileId).toBe(fileId);
    expect(document.UploadsRequested).toBe(1);
    const dimensions: string[][] = document._aws.CloudWatchMetrics[0].Dimensions;
    expect(dimensions.flat()).toEqual(['service']);
    expect(document.service).toBe('upload-api');
  });
});
