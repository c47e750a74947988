/**
 * The files table and the indexes behind `GET /files`: every list is one owner's, filtered
 * optionally by status, and sorted by one of created_at, size or filename with file_id as the
 * tie-breaker, which is exactly the keyset each index serves.
 */
export const statements: readonly string[] = [
  `CREATE TABLE files (
    file_id uuid PRIMARY KEY,
    owner_id text NOT NULL,
    filename text NOT NULL,
    declared_content_type text NOT NULL,
    declared_size bigint NOT NULL CHECK (declared_size >= 0),
    checksum_sha256 text,
    bucket text NOT NULL,
    object_key text NOT NULL UNIQUE,
    status text NOT NULL CHECK (status IN
      ('PENDING_UPLOAD', 'UPLOADED', 'PROCESSING', 'PROCESSED', 'FAILED', 'REJECTED', 'DELETED')),
    size bigint NOT NULL CHECK (size >= 0),
    content_type text NOT NULL,
    sha256 text,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    derivatives jsonb NOT NULL DEFAULT '[]'::jsonb,
    reason text,
    object_version text,
    created_at timestamp(3) with time zone NOT NULL DEFAULT now(),
    updated_at timestamp(3) with time zone NOT NULL DEFAULT now(),
    processed_at timestamp(3) with time zone
  )`,
  'CREATE INDEX files_owner_created ON files (owner_id, created_at, file_id)',
  'CREATE INDEX files_owner_status_created ON files (owner_id, status, created_at, file_id)',
  'CREATE INDEX files_owner_size ON files (owner_id, size, file_id)',
  'CREATE INDEX files_owner_filename ON files (owner_id, lower(filename) text_pattern_ops, file_id)',
  'CREATE INDEX files_owner_filename_sort ON files (owner_id, filename, file_id)',
  'CREATE INDEX files_owner_content_type ON files (owner_id, content_type, created_at, file_id)',
];
