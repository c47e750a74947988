import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type LocalFile, sha256Of } from '../../../cli/lib/files.ts';
import { createFileJournal, fileFingerprint } from '../../../cli/lib/journal.ts';
import { type BatchedFile, UploadBatches } from '../../../cli/lib/upload-batches.ts';
import { SyncFlowClient } from '../../../client/src/index.ts';

const REST = 'https://api.test/stage/';

/** Local files of these sizes (the sizes are given, the bytes are few). */
const localFiles = (dir: string, sizes: number[]): LocalFile[] =>
  sizes.map((size, i) => {
    const path = join(dir, `f${i}.txt`);
    writeFileSync(path, `file ${i}\n`);
    return { path, shown: `f${i}.txt`, name: `f${i}.txt`, size, mtimeMs: 1000 + i };
  });

/**
 * A client whose `POST /uploads/batch` answers from `answer`, and records each batch's files
 * with what the journal said of them when the request left.
 */
const setup = (
  answer: (files: { filename: string; contentType: string }[]) => Response | Promise<Response>,
) => {
  const dir = mkdtempSync(join(tmpdir(), 'syncflow-batches-'));
  const journal = createFileJournal(dir, 'unit');
  const sent: { files: { filename: string; checksumSha256?: string }[]; states: string[] }[] = [];
  let files: LocalFile[] = [];
  const client = new SyncFlowClient(
    { restUrl: REST, websocketUrl: 'wss://ws.test', region: 'eu-west-1', userPoolClientId: 'c' },
    {
      token: 'token',
      fetch: async (input, init) => {
        expect(`${init?.method} ${input}`).toBe(`POST ${REST}uploads/batch`);
        const body = JSON.parse(String(init?.body));
        const states = body.files.map((f: { filename: string }) => {
          const file = files.find((l) => l.name === f.filename);
          return file ? journal.get(fileFingerprint(REST, file))?.state : undefined;
        });
        sent.push({ files: body.files, states });
        return answer(body.files);
      },
    },
  );
  return {
    dir,
    journal,
    sent,
    client,
    use: (list: LocalFile[]) => {
      files = list;
    },
  };
};

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const created = (fileId: string) => ({
  fileId,
  kind: 'other',
  expiresAt: new Date(Date.now() + 900_000).toISOString(),
  upload: { method: 'POST', url: 'https://s3.test/b', fields: { key: fileId } },
});

const drain = async (batches: UploadBatches): Promise<BatchedFile[]> => {
  const all: BatchedFile[] = [];
  for (let next = await batches.next(); next; next = await batches.next()) all.push(next);
  return all;
};

describe('upload batches (the CLI)', () => {
  it('journals every file as requested before its batch leaves, and its id once answered', async () => {
    let n = 0;
    const stack = setup((files) =>
      json(200, {
        items: files.map((f) =>
          f.filename === 'f1.txt'
            ? { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'not accepted' } }
            : created(`id-${++n}`),
        ),
      }),
    );
    const files = localFiles(stack.dir, [10, 20, 30]);
    stack.use(files);
    const batches = new UploadBatches(stack.client, stack.journal, files, {
      checksum: true,
      lowWater: 1,
      signal: new AbortController().signal,
    });
    const handed = await drain(batches);
    expect(stack.sent).toHaveLength(1);
    expect(stack.sent[0]?.states).toEqual(['requested', 'requested', 'requested']);
    expect(stack.sent[0]?.files[0]?.checksumSha256).toBe(await sha256Of(files[0]?.path ?? ''));
    expect(handed.map((h) => h.file.name)).toEqual(['f0.txt', 'f1.txt', 'f2.txt']);
    expect(handed[1]).toMatchObject({ refused: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    const [first, , third] = files.map((f) => stack.journal.get(fileFingerprint(REST, f)));
    expect(first).toMatchObject({ state: 'started', fileId: 'id-1', method: 'POST' });
    expect(third).toMatchObject({ state: 'started', fileId: 'id-2' });
    // A refused file was recorded nowhere: the journal forgets it, so it is sent as new later.
    expect(stack.journal.get(fileFingerprint(REST, files[1] as LocalFile))).toBeUndefined();
    expect(batches.requests).toBe(1);
  });

  it('asks for at most 100 files or 64 MiB a batch', async () => {
    let n = 0;
    const stack = setup((files) => json(200, { items: files.map(() => created(`id-${++n}`)) }));
    const MiB = 1024 ** 2;
    const files = localFiles(stack.dir, [...Array(150).fill(10), ...Array(20).fill(7 * MiB)]);
    stack.use(files);
    const batches = new UploadBatches(stack.client, stack.journal, files, {
      checksum: false,
      lowWater: 4,
      signal: new AbortController().signal,
    });
    expect(await drain(batches)).toHaveLength(170);
    // 100; then 50 small and 9 of 7 MiB (64 MiB in all would be passed by a tenth); 9; 2.
    expect(stack.sent.map((s) => s.files.length)).toEqual([100, 59, 9, 2]);
  });

  it('hands out each file with the failure of a batch that got no answer', async () => {
    const stack = setup(() => json(401, { error: { code: 'UNAUTHORIZED', message: 'expired' } }));
    const files = localFiles(stack.dir, [1, 2]);
    stack.use(files);
    const batches = new UploadBatches(stack.client, stack.journal, files, {
      checksum: false,
      lowWater: 1,
      signal: new AbortController().signal,
    });
    const handed = await drain(batches);
    expect(handed).toHaveLength(2);
    for (const h of handed) expect(h).toMatchObject({ failure: { status: 401 } });
    // Still `requested`: a later run looks for records the lost batch may have made.
    expect(stack.journal.get(fileFingerprint(REST, files[0] as LocalFile))?.state).toBe(
      'requested',
    );
  });

  it('stops handing out files once the run is stopped, asking for no more', async () => {
    let n = 0;
    const stack = setup((files) => json(200, { items: files.map(() => created(`id-${++n}`)) }));
    const files = localFiles(stack.dir, Array(150).fill(1));
    stack.use(files);
    const stop = new AbortController();
    const batches = new UploadBatches(stack.client, stack.journal, files, {
      checksum: false,
      lowWater: 0,
      signal: stop.signal,
    });
    let handed = 0;
    for (let next = await batches.next(); next; next = await batches.next()) {
      handed++;
      if (handed === 10) stop.abort();
    }
    expect(handed).toBe(100);
    expect(stack.sent).toHaveLength(1);
    expect(stack.journal.get(fileFingerprint(REST, files[120] as LocalFile))).toBeUndefined();
  });
});
