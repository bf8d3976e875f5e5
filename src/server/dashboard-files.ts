import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { YogaLogger } from 'graphql-yoga';
import type { DashboardManifest } from './dashboard-build.js';

/**
 * Serves the dashboard's build: GET / (the page) and GET /assets/<name> (its script and style),
 * from memory. Only the files the build's manifest lists are served: a path is looked up by exact
 * name, so nothing outside the build folder can be reached, whatever the URL holds.
 *
 * Assets have content-hashed names and are cached for a year (immutable); the page itself is
 * revalidated on every load (no-cache with an ETag), so a new build reaches browsers at once.
 * Answers are gzipped for clients that accept it.
 */

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** The page talks to its own origin only: its scripts, styles and the API (ws: included). */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface File {
  readonly body: Buffer;
  readonly gzipped: Buffer;
  readonly type: string;
  readonly etag: string;
  readonly cacheControl: string;
}

export interface DashboardFiles {
  /** Answers the request when it is the dashboard's, and says whether it did. */
  handle(request: IncomingMessage, response: ServerResponse): Promise<boolean>;
}

export interface DashboardFilesOptions {
  /** The build folder. */
  readonly dir: string;
  /** Makes sure the build is there and up to date, before the first answer. */
  readonly ensureBuilt?: () => Promise<unknown>;
  readonly logger: YogaLogger;
}

async function loadBuild(dir: string): Promise<Map<string, File>> {
  const manifest = JSON.parse(
    await readFile(join(dir, 'manifest.json'), 'utf8'),
  ) as DashboardManifest;
  const files = new Map<string, File>();
  for (const name of [manifest.index, ...manifest.assets]) {
    const body = await readFile(join(dir, name));
    const isPage = name === manifest.index;
    files.set(isPage ? '/' : `/${name}`, {
      body,
      gzipped: gzipSync(body, { level: 9 }),
      type: TYPES[extname(name)] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      cacheControl: isPage ? 'no-cache' : 'public, max-age=31536000, immutable',
    });
  }
  return files;
}

function isDashboardPath(pathname: string): boolean {
  return pathname === '/' || pathname === '/index.html' || pathname.startsWith('/assets/');
}

export function createDashboardFiles(options: DashboardFilesOptions): DashboardFiles {
  let loading: Promise<Map<string, File>> | null = null;
  const load = () => {
    loading ??= (async () => {
      await options.ensureBuilt?.();
      return loadBuild(options.dir);
    })().catch((error: unknown) => {
      // Not kept: the next request tries again (the build may be there by then).
      loading = null;
      throw error;
    });
    return loading;
  };

  return {
    async handle(request, response) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return false;
      const { pathname } = new URL(request.url ?? '/', 'http://localhost');
      if (!isDashboardPath(pathname)) return false;
      let files: Map<string, File>;
      try {
        files = await load();
      } catch (error) {
        options.logger.error(`the dashboard cannot be served: ${(error as Error).message}`);
        response.writeHead(503, {
          'content-type': 'text/plain; charset=utf-8',
          'retry-after': '10',
        });
        response.end(
          'The dashboard is not built. Run `npm run build:dashboard` (the API still answers at /graphql).\n',
        );
        return true;
      }
      const file = files.get(pathname === '/index.html' ? '/' : pathname);
      if (!file) {
        response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        response.end('Not found\n');
        return true;
      }
      const headers: Record<string, string> = {
        'content-type': file.type,
        'cache-control': file.cacheControl,
        etag: file.etag,
        vary: 'accept-encoding',
        'x-content-type-options': 'nosniff',
      };
      if (file.type.startsWith('text/html')) {
        headers['content-security-policy'] = CONTENT_SECURITY_POLICY;
        headers['referrer-policy'] = 'no-referrer';
      }
      const match = request.headers['if-none-match'];
      if (match?.split(',').some((tag) => tag.trim().replace(/^W\//, '') === file.etag)) {
        response.writeHead(304, headers);
        response.end();
        return true;
      }
      const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
      const body = gzip ? file.gzipped : file.body;
      if (gzip) headers['content-encoding'] = 'gzip';
      headers['content-length'] = String(body.length);
      response.writeHead(200, headers);
      response.end(request.method === 'HEAD' ? undefined : body);
      return true;
    },
  };
}
