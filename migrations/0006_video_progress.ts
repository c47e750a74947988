/**
 * How far a long run is (issue 15): `progress` is the percentage a video's transcoder last
 * reported while the file is PROCESSING, null otherwise. Numbered 0006 so the per-kind work of
 * issue 14 may take 0005.
 */
export const statements: readonly string[] = [
  `ALTER TABLE files ADD COLUMN progress smallint
     CONSTRAINT files_progress_range CHECK (progress BETWEEN 0 AND 100)`,
];
