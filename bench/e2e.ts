import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import WebSocket from 'ws';
import { fetchTransport, SyncFlowApi, Uploader } from '../client/src/index.ts';
import {
  findRunningLocalStack,
  type LocalStack,
  type LocalStackInfo,
  startLocalStack,
} from '../scripts/lib/local-stack.ts';
import { signInUser } from '../scripts/lib/users.ts';
import { runPipeline } from '../shared/processing/pipeline.ts';
import { listenToBus, receive } from '../test/support/emulator-resources.ts';
import { chunked, makeJpeg } from '../test/support/images.ts';
import { freePort } from '../test/support/ports.ts';
import { benchImageBehindCsvs } from './kind-isolation.ts';

/**
 * `npm run bench:e2e`: the deployed local stack, measured from outside as a user sees it.
 * Reuses a running `npm start`, or starts a stack of its own.
 */
const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};

/** Uploads one JPEG with the client library, as the console does. */
const uploadFile = async (stack: LocalStackInfo, data: Buffer, name: string): Promise<string> => {
  const api = new SyncFlowApi({ baseUrl: stack.restUrl, token: async () => stack.token });
  const uploader = new Uploader(api, stack.restUrl, { transport: fetchTransport() });
  const file = new File([new Uint8Array(data)], name, { type: 'image/jpeg' });
  return (await uploader.upload(file)).fileId;
};

/** Reads the bus listener until every wanted file's event arrived; returns when each was seen. */
const collectEvents = async (
  sqs: SQSClient,
  queueUrl: string,
  wanted: Set<string>,
  seen: Map<string, number>,
  timeoutMs: number,
) => {
  const deadline = Date.now() + timeoutMs;
  while ([...wanted].some((id) => !seen.has(id)) && Date.now() < deadline) {
    for (const message of await receive(sqs, queueUrl, 10, 1000)) {
      const event = JSON.parse(message.Body ?? '{}') as { detail?: { fileId?: string } };
      const id = event.detail?.fileId;
      if (id && wanted.has(id) && !seen.has(id)) seen.set(id, performance.now());
    }
  }
};

const main = async (): Promise<void> => {
  const running = await findRunningLocalStack();
  const started: LocalStack | undefined = running
    ? undefined
    : await startLocalStack({
        emulatorPort: await freePort(),
        pgPort: await freePort(),
        consolePort: await freePort(),
        quiet: true,
      });
  const stack = running ?? started?.info;
  if (!stack) throw new Error('No local stack');
  try {
    const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
    const sqs = new SQSClient({ endpoint: stack.endpoint, region: stack.region, credentials });
    const eventBridge = new EventBridgeClient({
      endpoint: stack.endpoint,
      region: stack.region,
      credentials,
    });
    const listener = await listenToBus({ sqs, eventBridge }, stack.outputs.EventBusName ?? '');
    const { queueUrl } = listener;
    try {
      const image = await makeJpeg(640, 480);

      // Latency: one file at a time, from the end of its upload to the WebSocket message that
      // tells its owner, with where the time went on the way.
      const cognito = new CognitoIdentityProviderClient({
        endpoint: stack.endpoint,
        region: stack.region,
        credentials,
      });
      const token = await signInUser(cognito, stack, stack.demoUser.email, stack.demoUser.password);
      const user: LocalStackInfo = { ...stack, token };
      const socket = new WebSocket(`${stack.websocketUrl}?token=${encodeURIComponent(token)}`);
      const pushed = new Map<string, number>();
      socket.on('message', (data) => {
        // The socket also tells `file.processing` when a run starts: the end state is the one timed.
        const message = JSON.parse(String(data)) as { type?: string; fileId?: string };
        if (message.fileId && message.type === 'file.processed')
          pushed.set(message.fileId, Date.now());
      });
      await new Promise((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      const latencies: number[] = [];
      const stages = {
        processed: [] as number[],
        published: [] as number[],
        pushed: [] as number[],
      };
      /** Uploads one file and waits for its WebSocket message; when each happened. */
      const uploadAndWait = async (
        name: string,
      ): Promise<{ fileId: string; uploaded: number; at: number }> => {
        const fileId = await uploadFile(user, image, name);
        const uploaded = Date.now();
        const deadline = uploaded + 60_000;
        while (!pushed.has(fileId) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        const at = pushed.get(fileId);
        if (at === undefined) throw new Error(`no notification for ${fileId} within 60 s`);
        return { fileId, uploaded, at };
      };
      // The first file after a deploy meets cold functions (processor, notifier): reported on its
      // own, not mixed into the steady-state percentiles.
      const first = await uploadAndWait('latency-first.jpg');
      for (let i = 0; i < 20; i++) {
        const { fileId, uploaded, at } = await uploadAndWait(`latency-${i}.jpg`);
        latencies.push(at - uploaded);
        const file = (await (
          await fetch(`${stack.restUrl}files/${fileId}`, {
            headers: { authorization: `Bearer ${token}` },
          })
        ).json()) as { processedAt: string };
        const processedAt = Date.parse(file.processedAt);
        stages.processed.push(processedAt - uploaded);
        stages.pushed.push(at - processedAt);
      }
      socket.close();
      const median = (values: number[]) => Math.round(quantile(values, 0.5));
      console.log(
        JSON.stringify({
          bench: 'e2e-latency',
          files: latencies.length,
          p50_ms: median(latencies),
          p95_ms: Math.round(quantile(latencies, 0.95)),
          // Medians of the two legs, split at the processor's write of the end state (the
          // bus event's own time has whole seconds only): S3 event, ingest queue and processor;
          // then the event on the bus, the rule, the notifier and API Gateway's push.
          p50_upload_to_processed_ms: median(stages.processed),
          p50_processed_to_websocket_ms: median(stages.pushed),
          first_file_ms: first.at - first.uploaded,
          goal: 'p50_ms <= 1500',
        }),
      );

      // Throughput: 200 files, 8 uploads in flight, until the last file.processed event.
      const total = 200;
      const inFlight = 8;
      const ids = new Set<string>();
      const seen = new Map<string, number>();
      const start = performance.now();
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < total) {
          const n = next++;
          ids.add(await uploadFile(user, image, `throughput-${n}.jpg`));
        }
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
      await collectEvents(sqs, queueUrl, ids, seen, 300_000);
      const last = Math.max(...seen.values());
      const filesPerS = seen.size / ((last - start) / 1000);

      // The same pipeline in this process, one file after another, for comparison.
      const inProcessStart = performance.now();
      for (let i = 0; i < 50; i++) {
        await runPipeline(chunked(image), {
          contentType: 'image/jpeg',
          size: image.length,
          checksumSha256: null,
        });
      }
      const inProcess = 50 / ((performance.now() - inProcessStart) / 1000);
      console.log(
        JSON.stringify({
          bench: 'e2e-throughput',
          files: total,
          processed: seen.size,
          in_flight: inFlight,
          files_per_s: Number(filesPerS.toFixed(2)),
          in_process_files_per_s: Number(inProcess.toFixed(2)),
        }),
      );

      // Kinds apart: images while 20 large CSV files wait for or go through the tabular function.
      console.log(JSON.stringify(await benchImageBehindCsvs(stack, token, image)));
    } finally {
      await listener.remove();
    }
  } finally {
    await started?.stop();
  }
};

await main();
