/**
 * Videos (issue 15): `progress` is the percentage a video's transcoder last reported while the
 * file is PROCESSING, null otherwise; `video` joins the kinds of 0005_kinds.ts (video and audio
 * files, processed by the video workflow). No new table, so 0004's grants cover the column.
 */
export const statements: readonly string[] = [
  'ALTER TABLE files DROP CONSTRAINT files_kind_check',
  `ALTER TABLE files ADD CONSTRAINT files_kind_check
     CHECK (kind IN ('image', 'tabular', 'logs', 'other', 'video'))`,
  `ALTER TABLE files ADD COLUMN progress smallint
     CONSTRAINT files_progress_range CHECK (progress BETWEEN 0 AND 100)`,
];
