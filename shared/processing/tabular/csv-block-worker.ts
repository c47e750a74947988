import { parentPort } from 'node:worker_threads';
import { serveTasks } from '../worker-pool.ts';
import { inspectBlock } from './csv-byte-blocks.ts';

/** Worker thread entry: reads the CSV blocks it is sent (bytes or text), answering each in turn. */
serveTasks(parentPort, inspectBlock);
