/**
 * Settings the functions read at start. `cursor_key` signs the cursors of `GET /files`: made
 * here from PostgreSQL's strong random source (two random UUIDs, 244 random bits), kept with the
 * data it protects, read once per cold start by the files API through the database connection it
 * opens anyway (no secrets client to load). Rotate it with
 * `UPDATE settings SET value = gen_random_uuid()::text || gen_random_uuid()::text WHERE name = 'cursor_key'`;
 * cursors handed out before then answer 400.
 */
export const statements: readonly string[] = [
  `CREATE TABLE settings (
    name text PRIMARY KEY,
    value text NOT NULL
  )`,
  `INSERT INTO settings (name, value)
   VALUES ('cursor_key', gen_random_uuid()::text || gen_random_uuid()::text)
   ON CONFLICT (name) DO NOTHING`,
];
