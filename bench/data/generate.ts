import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

/**
 * Deterministic generators for the 1 GiB benchmark inputs. A small linear congruential generator
 * keeps the files identical from run to run without storing them.
 */
const lcg = (seed: number) => {
  let state = seed >>> 0;
  return (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
};

const CITIES = ['Lisbon', 'Porto', 'Berlin', 'New York, NY', 'São Paulo', 'Zürich', 'Kyoto'];

/** One CSV line of mixed types: integer, string, decimal, double, boolean, date, timestamp, quoted text, nullable integer. */
const csvLine = (i: number, random: () => number): string => {
  const day = new Date(Date.UTC(2024, 0, 1) + Math.floor(random() * 700) * 86_400_000);
  const at = new Date(day.getTime() + Math.floor(random() * 86_400_000));
  const city = CITIES[Math.floor(random() * CITIES.length)] ?? '';
  const note = random() < 0.1 ? '"said ""hello"", left"' : `note ${Math.floor(random() * 1000)}`;
  const qty = random() < 0.05 ? '' : String(Math.floor(random() * 500));
  return `${i},user-${Math.floor(random() * 100_000)},${(random() * 10_000).toFixed(2)},${(random() * 2 - 1).toPrecision(9)},${random() < 0.5 ? 'true' : 'false'},${day.toISOString().slice(0, 10)},${at.toISOString()},${city.includes(',') ? `"${city}"` : city},${note},${qty}\n`;
};
export const CSV_HEADER = 'id,user,amount,score,active,day,at,city,note,qty\n';

/** Writes a generated CSV of at least `bytes` bytes (whole lines) to `path`; returns its rows. */
export const writeCsv = async (path: string, bytes: number): Promise<number> => {
  const out = createWriteStream(path);
  const random = lcg(14);
  let written = 0;
  let rows = 0;
  let batch = CSV_HEADER;
  while (written + batch.length < bytes) {
    for (let k = 0; k < 2000; k++) batch += csvLine(++rows, random);
    if (!out.write(batch)) await once(out, 'drain');
    written += Buffer.byteLength(batch);
    batch = '';
  }
  out.end();
  await once(out, 'finish');
  return rows;
};

const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const PATHS = ['/', '/api/v1/items', '/api/v1/items/{id}', '/login', '/static/app.js', '/health'];
const STATUSES = [200, 200, 200, 200, 201, 204, 301, 304, 400, 401, 404, 404, 500, 503];
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
  'curl/8.5.0',
  'Go-http-client/1.1',
];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number): string => String(n).padStart(2, '0');

/** One nginx "combined" line. */
const nginxLine = (t: number, random: () => number): string => {
  const d = new Date(t);
  const ip = `10.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`;
  const path = (PATHS[Math.floor(random() * PATHS.length)] ?? '/').replace(
    '{id}',
    String(Math.floor(random() * 100_000)),
  );
  const method = METHODS[Math.floor(random() * METHODS.length)] ?? 'GET';
  const status = STATUSES[Math.floor(random() * STATUSES.length)] ?? 200;
  const agent = AGENTS[Math.floor(random() * AGENTS.length)] ?? '-';
  const time = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
  return `${ip} - - [${time}] "${method} ${path}?q=${Math.floor(random() * 1000)} HTTP/1.1" ${status} ${Math.floor(random() * 50_000)} "https://example.com/" "${agent}"\n`;
};

/** Writes a generated nginx combined log of at least `bytes` bytes spanning several days. */
export const writeNginxLog = async (path: string, bytes: number): Promise<number> => {
  const out = createWriteStream(path);
  const random = lcg(15);
  let written = 0;
  let lines = 0;
  let t = Date.UTC(2026, 10, 25);
  let batch = '';
  while (written < bytes) {
    for (let k = 0; k < 2000; k++) {
      t += Math.floor(random() * 80);
      batch += nginxLine(t, random);
      lines++;
    }
    if (!out.write(batch)) await once(out, 'drain');
    written += Buffer.byteLength(batch);
    batch = '';
  }
  out.end();
  await once(out, 'finish');
  return lines;
};
