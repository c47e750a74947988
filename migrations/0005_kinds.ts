/**
 * Processing by kind (issue 14): `kind` says which function processes a file (image, tabular,
 * logs, other) and routes a reprocess request to that kind's queue; `dataset` names the dataset a
 * tabular file joins. Files from before: images are `image` (they had thumbnails), the rest
 * `other`, which is what they were processed as. No new table, so the roles' table grants of
 * 0004_roles.ts cover both columns.
 */
export const statements: readonly string[] = [
  `ALTER TABLE files ADD COLUMN kind text NOT NULL DEFAULT 'other'
     CONSTRAINT files_kind_check CHECK (kind IN ('image', 'tabular', 'logs', 'other'))`,
  'ALTER TABLE files ADD COLUMN dataset text',
  `UPDATE files SET kind = 'image'
   WHERE declared_content_type IN
     ('image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/avif', 'image/tiff')`,
];
