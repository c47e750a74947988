import { createReadStream, openAsBlob, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { S3Client } from '@aws-sdk/client-s3';
import { CrtCrc64Nvme } from '@aws-sdk/crc64-nvme-crt';
import { Upload } from '@aws-sdk/lib-storage';
import { fetchTransport, memoryJournal, SyncFlowApi, Uploader } from '../client/src/index.ts';
import {
  findRunningLocalStack,
  type LocalStack,
  startLocalStack,
} from '../scripts/lib/local-stack.ts';
import { signInUser } from '../scripts/lib/users.ts';
import { Crc64Nvme } from '../shared/domain/crc64nvme.ts';
import { planParts } from '../shared/domain/multipart.ts';
import { freePort } from '../test/support/ports.ts';

const ROOT = join(import.meta.dirname, '..');
const SIZE = 1024 ** 3;
const CONCURRENCY = 4;
/** The local stage's smallest part (infra/stages.ts): the plan the server hands out. */
const MIN_PART = 5 * 1024 ** 2;
const RUNS = 1;

/** Bytes the native CRC64NVME hashed: proof the native baseline did not fall back to JavaScript. */
let nativeCrcBytes = 0;

/** The AWS CRT's CRC64NVME (C, with the CPU's carry-less multiply), counting what it hashes. */
class CountingCrtCrc64Nvme extends CrtCrc64Nvme {
  override update(data: Uint8Array): void {
    nativeCrcBytes += data.byteLength;
    super.update(data);
  }
}

/** MB/s of one CRC64NVME over 256 MiB in memory, on this thread: where a client's time can go. */
const crcRate = async (update: (data: Uint8Array) => unknown): Promise<number> => {
  const block = new Uint8Array(8 * 1024 ** 2);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  update(block);
  const started = performance.now();
  for (let n = 0; n < 32; n++) update(block);
  return Math.round((32 * block.length) / 1e6 / ((performance.now() - started) / 1000));
};

/** A 1 GiB file of incompressible-ish bytes, written once per run. */
const makeFile = async (path: string): Promise<void> => {
  const handle = await open(path, 'w');
  const block = Buffer.alloc(8 * 1024 ** 2);
  for (let offset = 0; offset < SIZE; offset += block.length) {
    // A cheap generator: distinct blocks, not zeros (no layer may take a shortcut on them).
    for (let i = 0; i < block.length; i += 4)
      block.writeUInt32LE(((offset + i) * 2654435761) >>> 0, i);
    await handle.write(block);
  }
  await handle.close();
};

/**
 * `upload-multipart-1gib`: the client library uploads 1 GiB through the local stack (POST
 * /uploads, URLs signed in batches by the API, parts PUT in parallel, CRC64NVME computed while
 * reading, completion checked by the server) against @aws-sdk/lib-storage's Upload sending the
 * same parts with the same concurrency and the same checksum (CRC64NVME) straight to the
 * emulator's S3 with credentials (no API, no signing round trips). ratio = baseline time / client
 * time (1 = as fast), against the strongest baseline: lib-storage with the AWS CRT's native
 * CRC64NVME (`@aws-sdk/crc64-nvme-crt`, given to the S3 client as its CRC64NVME). Also printed:
 * lib-storage with the SDK's own CRC64NVME in JavaScript, and with its default CRC32, for scale,
 * and the in-memory rates of the client's and the native CRC64NVME.
 */
export const benchUploadMultipart = async () => {
  const running = await findRunningLocalStack();
  let started: LocalStack | undefined;
  if (!running) {
    started = await startLocalStack({
      emulatorPort: await freePort(),
      pgPort: await freePort(),
      consolePort: await freePort(),
      quiet: true,
    });
  }
  const stack = running ?? started?.info;
  if (!stack) throw new Error('No local stack');
  const path = join(ROOT, 'bench', '.out', 'upload-1gib.bin');
  try {
    await makeFile(path);
    const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
    const cognito = new CognitoIdentityProviderClient({
      endpoint: stack.endpoint,
      region: stack.region,
      credentials,
    });
    const token = await signInUser(cognito, stack, stack.demoUser.email, stack.demoUser.password);
    const api = new SyncFlowApi({ baseUrl: stack.restUrl, token: async () => token });
    const s3 = new S3Client({
      endpoint: stack.endpoint,
      region: stack.region,
      credentials,
      forcePathStyle: true,
    });
    // The same S3 client but for its CRC64NVME: the CRT's native one.
    const nativeS3 = new S3Client({
      endpoint: stack.endpoint,
      region: stack.region,
      credentials,
      forcePathStyle: true,
      checksumAlgorithms: { CRC64NVME: CountingCrtCrc64Nvme },
    });
    const bucket = stack.outputs.BucketName ?? '';
    const { partSize, partCount } = planParts(SIZE, MIN_PART);

    const client: number[] = [];
    const baseline: number[] = [];
    const jsCrc: number[] = [];
    const crc32: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      // In turns, so a slow spell of the machine slows both alike.
      const libStorage = async (key: string, checksum?: 'CRC64NVME', via = s3) => {
        const started = performance.now();
        await new Upload({
          client: via,
          params: {
            Bucket: bucket,
            Key: key,
            Body: createReadStream(path, { highWaterMark: partSize }),
            ...(checksum && { ChecksumAlgorithm: checksum }),
          },
          partSize,
          queueSize: CONCURRENCY,
        }).done();
        return (performance.now() - started) / 1000;
      };
      const hashedBefore = nativeCrcBytes;
      baseline.push(
        await libStorage(`bench/lib-storage-crt-crc64nvme-${run}.bin`, 'CRC64NVME', nativeS3),
      );
      if (nativeCrcBytes - hashedBefore < SIZE)
        throw new Error('The native CRC64NVME did not hash the upload: the baseline fell back');
      jsCrc.push(await libStorage(`bench/lib-storage-crc64nvme-${run}.bin`, 'CRC64NVME'));
      crc32.push(await libStorage(`bench/lib-storage-crc32-${run}.bin`));

      const t = performance.now();
      const uploader = new Uploader(api, stack.restUrl, {
        transport: fetchTransport(),
        journal: memoryJournal(),
      });
      const result = await uploader.upload(await openAsBlob(path), {
        filename: `bench-${run}.bin`,
        contentType: 'application/octet-stream',
        concurrency: CONCURRENCY,
      });
      client.push((performance.now() - t) / 1000);
      if (result.status === 'REJECTED')
        throw new Error(`The stack rejected the upload: ${result.reason}`);
    }
    const best = (values: number[]) => Math.min(...values);
    const ours = new Crc64Nvme();
    const native = new CrtCrc64Nvme();
    return {
      name: 'upload-multipart-1gib',
      bytes: statSync(path).size,
      partSize,
      parts: partCount,
      concurrency: CONCURRENCY,
      clientSeconds: best(client),
      libStorageSeconds: best(baseline),
      libStorageJsCrcSeconds: best(jsCrc),
      libStorageCrc32Seconds: best(crc32),
      clientMiBps: Math.round(SIZE / 1024 ** 2 / best(client)),
      libStorageMiBps: Math.round(SIZE / 1024 ** 2 / best(baseline)),
      ratio: Number((best(baseline) / best(client)).toFixed(2)),
      ratioVsLibStorageJsCrc: Number((best(jsCrc) / best(client)).toFixed(2)),
      ratioVsLibStorageCrc32: Number((best(crc32) / best(client)).toFixed(2)),
      clientCrcMBps: await crcRate((data) => ours.update(data)),
      nativeCrcMBps: await crcRate((data) => native.update(data)),
      runs: RUNS,
    };
  } finally {
    rmSync(path, { force: true });
    await started?.stop();
  }
};
