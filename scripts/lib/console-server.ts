import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { buildConsole } from '../../console/build.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};

/**
 * The Content-Security-Policy the console runs under, here and behind CloudFront: its own
 * scripts and styles only (no inline script), and connections to the API, the WebSocket, the
 * bucket and the sign-in service it names. Pictures and media (a video's rendition, an audio
 * file) come from the bucket's short-lived URLs (`images`).
 */
export const consoleCsp = (connect: readonly string[], images: readonly string[]): string =>
  [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: blob: ${images.join(' ')}`.trim(),
    `media-src 'self' ${images.join(' ')}`.trim(),
    `connect-src 'self' ${connect.join(' ')}`.trim(),
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');

export interface RunningConsole {
  readonly url: string;
  readonly origins: readonly string[];
  stop(): Promise<void>;
}

/** The origins a console on this port is reached from, for the stage's CORS setting. */
export const consoleOrigins = (port: number): string[] => [
  `http://127.0.0.1:${port}`,
  `http://localhost:${port}`,
];

/**
 * Builds the console and serves it on 127.0.0.1 with its config.json and the same security
 * headers CloudFront adds in AWS. Only the built files are served; anything else is a 404.
 */
export const startConsoleServer = async (options: {
  port: number;
  outDir: string;
  config: Record<string, unknown>;
  /** The emulator's endpoint: the API, the WebSocket, S3 and Cognito all answer there. */
  endpoint: string;
}): Promise<RunningConsole> => {
  const build = buildConsole(options.outDir, options.config);
  const ws = options.endpoint.replace(/^http/, 'ws');
  const csp = consoleCsp([options.endpoint, ws], [options.endpoint]);
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const name = normalize(path === '/' ? 'index.html' : path.slice(1));
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405).end();
      return;
    }
    if (!build.files.includes(name)) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    const body = readFileSync(join(build.dir, name));
    response.writeHead(200, {
      'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${options.port}/`,
    origins: consoleOrigins(options.port),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
};
