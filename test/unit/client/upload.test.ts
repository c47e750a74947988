import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { planParts } from '#shared/domain/multipart.ts';
import {
  AbortError,
  crc64nvme,
  crc64ToBase64,
  memoryJournal,
  SyncFlowApi,
  TransferError,
  type Transport,
  Uploader,
} from '../../../client/src/index.ts';

const MIB = 1024 ** 2;
const API = 'https://api.test/stage/';

/**
 * The server side of the multipart routes, in memory: what the real API answers, so the
 * uploader can be driven through plans, resumes and failures with no network.
 */
const fakeStack = (options: { minPartBytes?: number; threshold?: number } = {}) => {
  const sessions = new Map<
    string,
    { fileId: string; size: number; parts: Map<number, Uint8Array> }
  >();
  const calls: string[] = [];
  let completedWith: string | undefined;
  let created = 0;
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const fetch = async (input: string, init?: RequestInit): Promise<Response> => {
    const url = new URL(input);
    const path = url.pathname.replace('/stage/', '');
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    calls.push(`${init?.method} ${path}`);
    const createOne = (request: { size: number; contentType: string }) => {
      if (request.contentType === 'text/html') {
        return { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'text/html is not accepted' } };
      }
      const fileId = `f${++created}`;
      if (request.size < (options.threshold ?? 8 * MIB)) {
        return {
          fileId,
          expiresAt: '',
          upload: { method: 'POST', url: 'https://s3.test/b', fields: { key: fileId } },
        };
      }
      const plan = planParts(request.size, options.minPartBytes ?? 5 * MIB);
      sessions.set(`u-${fileId}`, { fileId, size: request.size, parts: new Map() });
      return {
        fileId,
        expiresAt: '',
        upload: {
          method: 'MULTIPART',
          uploadId: `u-${fileId}`,
          ...plan,
          checksumAlgorithm: 'CRC64NVME',
        },
      };
    };
    if (init?.method === 'POST' && path === 'uploads/batch') {
      return json(200, { items: body.files.map(createOne) });
    }
    if (init?.method === 'POST' && path === 'uploads') {
      const item = createOne(body);
      return 'error' in item ? json(415, item) : json(201, item);
    }
    const [, fileId, action] = path.split('/');
    const uploadId = body?.uploadId ?? url.searchParams.get('uploadId');
    const session = sessions.get(uploadId);
    if (!session || session.fileId !== fileId)
      return json(404, { error: { code: 'NOT_FOUND', message: 'no upload' } });
    const plan = planParts(session.size, options.minPartBytes ?? 5 * MIB);
    if (action === 'parts' && init?.method === 'POST') {
      return json(200, {
        fileId,
        expiresAt: new Date(Date.now() + 900_000).toISOString(),
        parts: body.partNumbers.map((n: number) => ({
          partNumber: n,
          url: `https://s3.test/${uploadId}/${n}`,
        })),
      });
    }
    if (action === 'parts') {
      return json(200, {
        fileId,
        ...plan,
        parts: [...session.parts].map(([n, data]) => ({
          partNumber: n,
          size: data.length,
          etag: `"${n}"`,
        })),
      });
    }
    if (action === 'complete') {
      completedWith = body.checksumCrc64nvme;
      const whole = new Uint8Array(session.size);
      for (const [n, data] of session.parts) whole.set(data, (n - 1) * plan.partSize);
      sessions.delete(uploadId);
      return crc64ToBase64(crc64nvme(whole)) === body.checksumCrc64nvme
        ? json(200, {
            fileId,
            status: 'UPLOADED',
            checksumVerified: true,
            checksumCrc64nvme: body.checksumCrc64nvme,
          })
        : json(200, { fileId, status: 'REJECTED', reason: 'checksum mismatch' });
    }
    return json(404, { error: { code: 'NOT_FOUND', message: path } });
  };
  /** Part PUTs land in the session; `failures` makes the next PUTs of a part fail first. */
  const failures = new Map<number, number[]>();
  const sent: number[] = [];
  const transport: Transport = {
    async putPart(url, body, opts) {
      const [, , , uploadId, n] = url.split('/');
      const part = Number(n);
      const planned = failures.get(part);
      const status = planned?.shift();
      if (status !== undefined) throw new TransferError(status, `S3 answered ${status}`);
      if (opts.signal?.aborted) throw new AbortError();
      const data = body instanceof Uint8Array ? body : new Uint8Array(await body.arrayBuffer());
      sessions.get(String(uploadId))?.parts.set(part, data);
      sent.push(part);
      opts.onProgress?.(data.length);
      return `"${part}"`;
    },
    async postForm(_url, _fields, file, opts) {
      opts.onProgress?.(file.size);
    },
  };
  const posted: string[] = [];
  transport.postForm = async (_url, fields, file, opts) => {
    if (opts.signal?.aborted) throw new AbortError();
    posted.push(String(fields.key));
    opts.onProgress?.(file.size);
  };
  return {
    fetch,
    transport,
    calls,
    sent,
    posted,
    failures,
    sessions,
    completed: () => completedWith,
  };
};

const setup = (stack: ReturnType<typeof fakeStack>) => {
  const api = new SyncFlowApi({
    baseUrl: API,
    token: async () => 'token',
    fetch: stack.fetch,
    retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 2 },
  });
  const journal = memoryJournal();
  const uploader = new Uploader(api, API, {
    transport: stack.transport,
    journal,
    retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 2 },
  });
  return { api, journal, uploader };
};

const fileOf = (bytes: Uint8Array, name = 'big.bin') =>
  new File([new Uint8Array(bytes)], name, { type: 'application/octet-stream', lastModified: 1 });

describe('Uploader', () => {
  it('sends a small file as one POST and a large one in the planned parts', async () => {
    const stack = fakeStack();
    const { uploader } = setup(stack);
    const small = await uploader.upload(fileOf(randomBytes(1000), 'small.txt'));
    expect(small).toMatchObject({ method: 'POST', status: 'PENDING_UPLOAD' });
    const data = randomBytes(12 * MIB + 123);
    const progress: number[] = [];
    const large = await uploader.upload(fileOf(data), {
      onProgress: (p) => progress.push(p.loaded),
    });
    expect(large).toMatchObject({
      method: 'MULTIPART',
      status: 'UPLOADED',
      partsSent: 3,
      resumed: false,
    });
    expect(stack.sent.sort()).toEqual([1, 2, 3]);
    // The checksum computed part by part while reading is the whole file's CRC64NVME.
    expect(large.checksumCrc64nvme).toBe(crc64ToBase64(crc64nvme(data)));
    expect(progress.at(-1)).toBe(data.length);
    expect(Math.max(...progress)).toBeLessThanOrEqual(data.length);
  });

  it('gives up the record of a small file whose POST was stopped, and starts anew on resume', async () => {
    const stack = fakeStack();
    const { uploader } = setup(stack);
    const file = fileOf(randomBytes(1000), 'small.txt');
    const paused = new AbortController();
    // Paused once the record exists, while the bytes are on their way.
    const upload = uploader.upload(file, {
      signal: paused.signal,
      onStarted: () => paused.abort(),
    });
    await expect(upload).rejects.toThrow(AbortError);
    expect(stack.calls).toEqual(['POST uploads', 'DELETE files/f1']);
    const resumed = await uploader.upload(file);
    expect(resumed).toMatchObject({ fileId: 'f2', method: 'POST' });
    expect(stack.calls.slice(2)).toEqual(['POST uploads']);
  });

  it('keeps the record of a small file whose POST failed on the network (its bytes may be in)', async () => {
    const stack = fakeStack();
    stack.transport.postForm = async () => {
      throw new TransferError(0, 'the connection was reset');
    };
    const { uploader } = setup(stack);
    await expect(uploader.upload(fileOf(randomBytes(1000), 'small.txt'))).rejects.toThrow(/reset/);
    expect(stack.calls).toEqual(['POST uploads']);
  });

  it('sends the files of one batch request as each answer says, with no request per file', async () => {
    const stack = fakeStack();
    const { api, uploader, journal } = setup(stack);
    const small = fileOf(randomBytes(1000), 'small.txt');
    const refused = fileOf(randomBytes(10), 'page.html');
    const data = randomBytes(9 * MIB);
    const large = fileOf(data, 'large.bin');
    const { items } = await api.createUploads([
      { filename: 'small.txt', contentType: 'text/plain', size: small.size },
      { filename: 'page.html', contentType: 'text/html', size: refused.size },
      { filename: 'large.bin', contentType: 'application/octet-stream', size: large.size },
    ]);
    expect(stack.calls).toEqual(['POST uploads/batch']);
    const [first, second, third] = items;
    expect(second).toEqual({
      error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'text/html is not accepted' },
    });
    if (!first || 'error' in first || !third || 'error' in third) throw new Error('no upload');
    const sentSmall = await uploader.upload(small, { created: first });
    expect(sentSmall).toMatchObject({ fileId: first.fileId, method: 'POST' });
    expect(stack.posted).toEqual([first.fileId]);
    const sentLarge = await uploader.upload(large, { created: third });
    expect(sentLarge).toMatchObject({
      fileId: third.fileId,
      method: 'MULTIPART',
      status: 'UPLOADED',
    });
    expect(sentLarge.checksumCrc64nvme).toBe(crc64ToBase64(crc64nvme(data)));
    // No POST /uploads of its own for either file.
    expect(stack.calls.filter((c) => c === 'POST uploads')).toEqual([]);
    expect(journal.entries()).toHaveLength(0);
  });

  it('refuses a batch answer for a file that has a session to resume', async () => {
    const stack = fakeStack();
    const { api, uploader } = setup(stack);
    const data = randomBytes(11 * MIB);
    const pause = new AbortController();
    await expect(
      uploader.upload(fileOf(data), { signal: pause.signal, onStarted: () => pause.abort() }),
    ).rejects.toThrow();
    const { items } = await api.createUploads([
      { filename: 'big.bin', contentType: 'application/octet-stream', size: data.length },
    ]);
    const item = items[0];
    if (!item || 'error' in item) throw new Error('no upload');
    await expect(uploader.upload(fileOf(data), { created: item })).rejects.toThrow(
      /unfinished upload to resume/,
    );
  });

  it('resumes after a pause: sends only the parts S3 lacks, the checksum still whole', async () => {
    const stack = fakeStack();
    const { uploader, journal } = setup(stack);
    const data = randomBytes(26 * MIB);
    const file = fileOf(data);
    const pause = new AbortController();
    await expect(
      uploader.upload(file, {
        concurrency: 1,
        signal: pause.signal,
        onProgress: (p) => {
          if (p.loaded >= 10 * MIB) pause.abort();
        },
      }),
    ).rejects.toThrow(AbortError);
    expect(journal.entries()).toHaveLength(1);
    const before = [...stack.sent];
    expect(before.length).toBeGreaterThanOrEqual(2);
    expect(before.length).toBeLessThan(6);

    // The same file chosen again (a new File object after a reload) resumes.
    const again = await uploader.upload(fileOf(data));
    expect(again.resumed).toBe(true);
    expect(again.partsSent).toBe(6 - before.length);
    expect(stack.sent.slice(before.length).some((n) => before.includes(n))).toBe(false);
    expect(again.checksumCrc64nvme).toBe(crc64ToBase64(crc64nvme(data)));
    expect(journal.entries()).toHaveLength(0);
  });

  it('starts over when the server no longer knows the session (aborted, expired)', async () => {
    const stack = fakeStack();
    const { uploader, journal } = setup(stack);
    const data = randomBytes(11 * MIB);
    const pause = new AbortController();
    await expect(
      uploader.upload(fileOf(data), { signal: pause.signal, onStarted: () => pause.abort() }),
    ).rejects.toThrow();
    const [[, entry] = []] = journal.entries();
    if (entry) stack.sessions.delete(entry.uploadId);
    const result = await uploader.upload(fileOf(data));
    expect(result).toMatchObject({ resumed: false, fileId: 'f2', status: 'UPLOADED' });
  });

  it('retries a failing part with backoff and signs a refused URL again', async () => {
    const stack = fakeStack();
    const { uploader } = setup(stack);
    stack.failures.set(2, [500, 0]);
    stack.failures.set(3, [403]);
    const data = randomBytes(12 * MIB);
    const result = await uploader.upload(fileOf(data));
    expect(result.status).toBe('UPLOADED');
    const signs = stack.calls.filter((c) => c === 'POST uploads/f1/parts');
    expect(signs.length).toBe(2);
  });

  it('gives up after its retries and keeps the session for a later resume', async () => {
    const stack = fakeStack();
    const { uploader, journal } = setup(stack);
    stack.failures.set(1, [500, 500, 500, 500, 500]);
    await expect(uploader.upload(fileOf(randomBytes(10 * MIB)))).rejects.toThrow(/500/);
    expect(journal.entries()).toHaveLength(1);
  });

  it('reports REJECTED when the bytes S3 holds are not the bytes read', async () => {
    const stack = fakeStack();
    const { uploader } = setup(stack);
    const data = randomBytes(10 * MIB);
    // A proxy that flips a byte of part 2 on its way to S3.
    const put = stack.transport.putPart;
    stack.transport.putPart = async (url, body, opts) => {
      if (url.endsWith('/2') && body instanceof Uint8Array) {
        const copy = body.slice();
        copy[7] = (copy[7] ?? 0) ^ 0xff;
        return put(url, copy, opts);
      }
      return put(url, body, opts);
    };
    const result = await uploader.upload(fileOf(data));
    expect(result).toMatchObject({ status: 'REJECTED', reason: 'checksum mismatch' });
    expect(stack.completed()).toBe(crc64ToBase64(crc64nvme(data)));
  });

  it('discard aborts the session on the server and forgets it', async () => {
    const stack = fakeStack();
    const { uploader, journal } = setup(stack);
    const file = fileOf(randomBytes(9 * MIB));
    const stop = new AbortController();
    await expect(
      uploader.upload(file, { signal: stop.signal, onStarted: () => stop.abort() }),
    ).rejects.toThrow();
    expect(uploader.pending(file)).toBeDefined();
    await uploader.discard(file);
    expect(journal.entries()).toHaveLength(0);
    expect(stack.calls).toContain('DELETE uploads/f1');
  });
});
