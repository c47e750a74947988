import { parentPort } from 'node:worker_threads';
import { type BlockTask, inspectCsvBlock } from './csv-blocks.ts';

/** Worker thread entry: reads the blocks it is sent, answering each in turn. */
parentPort?.on('message', (task: BlockTask) => {
  try {
    parentPort?.postMessage({ ok: true, result: inspectCsvBlock(task) });
  } catch (error) {
    parentPort?.postMessage({
      ok: false,
      message: error instanceof Error ? error.message : String(error),
    });
  }
});
