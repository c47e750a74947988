import { parentPort } from 'node:worker_threads';
import { serveTasks } from '../worker-pool.ts';
import { analyseLogBlock } from './log-blocks.ts';

/** Worker thread entry: analyses the log blocks it is sent, answering each in turn. */
serveTasks(parentPort, analyseLogBlock);
