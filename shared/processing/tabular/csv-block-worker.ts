import { parentPort } from 'node:worker_threads';
import { serveTasks } from '../worker-pool.ts';
import { inspectCsvBlock } from './csv-blocks.ts';

/** Worker thread entry: reads the CSV blocks it is sent, answering each in turn. */
serveTasks(parentPort, inspectCsvBlock);
