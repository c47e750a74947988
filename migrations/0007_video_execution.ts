/**
 * Videos (issue 15): `video_execution` is the ARN of the Step Functions execution that took the
 * file's current run over, written by the video kind's function when it hands the file off. It
 * cannot be derived later: a reprocess names its execution after its request id, which the
 * record forgets once the run ends. No new table, so 0004's grants cover the column.
 */
export const statements: readonly string[] = ['ALTER TABLE files ADD COLUMN video_execution text'];
