/**
 * What keeps the checked bytes the served bytes and every file moving to an end (issue 11):
 * - `version_id`: the S3 version the processor checked; downloads and derivatives name it.
 * - `upload_expires_at`, status EXPIRED: an upload URL that expired unused ends the file.
 * - `attempts`, `deadline`: which delivery the current run is and when its function is stopped
 *   at the latest, so a run killed by a timeout or running out of memory is recognised.
 * - `reprocess_id`: the reprocess request a file waits for, so a second request joins it.
 * - `published_status`: the status whose `file.*` event went out, so a retry publishes once.
 * - `request_counts`: requests per user and minute, for the API's per-user limits.
 * Rows from before count as published, and a PENDING_UPLOAD from before expires 15 minutes
 * (the URL lifetime they were given) after it was asked for.
 */
export const statements: readonly string[] = [
  'ALTER TABLE files DROP CONSTRAINT IF EXISTS files_status_check',
  `ALTER TABLE files ADD CONSTRAINT files_status_check CHECK (status IN
    ('PENDING_UPLOAD', 'UPLOADED', 'PROCESSING', 'PROCESSED', 'FAILED', 'REJECTED', 'EXPIRED',
     'DELETED'))`,
  'ALTER TABLE files ADD COLUMN version_id text',
  'ALTER TABLE files ADD COLUMN upload_expires_at timestamp(3) with time zone',
  'ALTER TABLE files ADD COLUMN attempts integer NOT NULL DEFAULT 0',
  'ALTER TABLE files ADD COLUMN deadline timestamp(3) with time zone',
  'ALTER TABLE files ADD COLUMN reprocess_id uuid',
  'ALTER TABLE files ADD COLUMN published_status text',
  `UPDATE files SET upload_expires_at = created_at + interval '15 minutes'
   WHERE status = 'PENDING_UPLOAD'`,
  `UPDATE files SET published_status = status
   WHERE status IN ('PROCESSED', 'FAILED', 'REJECTED', 'DELETED')`,
  // The sweeper's look-ups: only unfinished files, by how long they have waited.
  `CREATE INDEX files_unfinished ON files (status, updated_at)
   WHERE status IN ('PENDING_UPLOAD', 'UPLOADED', 'PROCESSING')
      OR (status = 'DELETED' AND published_status IS NULL)`,
  `CREATE TABLE request_counts (
    owner_id text NOT NULL,
    action text NOT NULL,
    window_start timestamp(3) with time zone NOT NULL,
    count integer NOT NULL,
    PRIMARY KEY (owner_id, action, window_start)
  )`,
];
