import type { APIGatewayProxyEvent } from 'aws-lambda';
import { HttpError } from '../domain/errors.ts';
import type { FileRecord } from '../domain/file-record.ts';
import { isFileId } from '../domain/keys.ts';
import { logger } from '../observability/powertools.ts';
import type { FileRepository } from './file-repository.ts';
import { ownerOf } from './http.ts';

/** The one 404 of the files routes: no such file, another user's file, a malformed id. */
export const notFound = (fileId: string): HttpError =>
  new HttpError('NOT_FOUND', `No file ${JSON.stringify(fileId)}`);

/**
 * The caller's file named by the path (`{fileId}`), or the 404 that also stands for another
 * user's file. Puts the file's id on every log line that follows.
 */
export const callersFile = async (
  repository: FileRepository,
  event: APIGatewayProxyEvent,
): Promise<FileRecord> => {
  const ownerId = ownerOf(event);
  const fileId = event.pathParameters?.fileId ?? '';
  if (!isFileId(fileId)) throw notFound(fileId);
  logger.appendKeys({ fileId });
  const file = await repository.getForOwner(ownerId, fileId);
  if (!file) throw notFound(fileId);
  return file;
};
