import { FileRepository } from '../file-repository.ts';
import { type DatabaseHandle, databaseConfigFromEnv, openDatabase } from './connect.ts';

let opening: Promise<DatabaseHandle> | undefined;

/**
 * The process's database, opened on first use from the environment and then reused by every
 * invocation (a pool for node-postgres, a client for the Data API).
 */
export const database = (): Promise<DatabaseHandle> => {
  opening ??= openDatabase(databaseConfigFromEnv()).catch((error: unknown) => {
    opening = undefined;
    throw error;
  });
  return opening;
};

export const fileRepository = async (): Promise<FileRepository> =>
  new FileRepository((await database()).db);
