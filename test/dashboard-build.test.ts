import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { type App, buildApp } from '../src/server/app.js';
import {
  buildDashboard,
  DashboardBudgetError,
  MAX_JS_GZIP_BYTES,
} from '../src/server/dashboard-build.js';
import { recordingLogger } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

let dir: string;
let t: TestDatabase;
let app: App;
let base: string;

/** The API with its dashboard served from the given folder, never built there. */
function appServing(folder: string) {
  const logger = recordingLogger();
  const built = buildApp({
    pool: t.pool,
    config: { ...loadConfig({}), db: t.db },
    logger,
    dashboard: { dir: folder, build: false },
  });
  return Object.assign(built, { logger });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'belair-dashboard-'));
  t = await createTestDatabase(import.meta.filename);
});
afterAll(async () => {
  await app?.stop();
  await t?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('the dashboard build', () => {
  it('bundles the page within its JavaScript budget, and skips a build that is up to date', async () => {
    const outDir = join(dir, 'dist');
    const built = await buildDashboard({ outDir, force: true });
    expect(built.rebuilt).toBe(true);
    expect(built.assets).toEqual([
      expect.stringMatching(/^assets\/main-[A-Z0-9]+\.css$/),
      expect.stringMatching(/^assets\/main-[A-Z0-9]+\.js$/),
    ]);
    const script = built.assets[1] as string;
    const measured = gzipSync(await readFile(join(outDir, script)), { level: 9 }).length;
    expect(built.jsGzipBytes).toBe(measured);
    expect(measured).toBeLessThanOrEqual(MAX_JS_GZIP_BYTES);
    const page = await readFile(join(outDir, 'index.html'), 'utf8');
    expect(page).toContain(`<script type="module" src="/${script}"></script>`);
    expect(page).toContain(`<link rel="stylesheet" href="/${built.assets[0]}" />`);

    const again = await buildDashboard({ outDir });
    expect(again).toMatchObject({
      rebuilt: false,
      fingerprint: built.fingerprint,
      assets: built.assets,
    });
  });

  it('fails past the budget and leaves the build in place', async () => {
    const outDir = join(dir, 'dist');
    const before = await readFile(join(outDir, 'manifest.json'), 'utf8');
    const failure = await buildDashboard({ outDir, force: true, maxJsGzipBytes: 10_000 }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(DashboardBudgetError);
    expect((failure as Error).message).toMatch(
      /^The dashboard's JavaScript is \d+\.\d KB gzipped, above its budget of 10 KB: bundle less\.$/,
    );
    expect(await readFile(join(outDir, 'manifest.json'), 'utf8')).toBe(before);
  });
});

describe('GET / and its assets', () => {
  beforeAll(async () => {
    app = appServing(join(dir, 'dist'));
    const { port } = await app.start(0, '127.0.0.1');
    base = `http://127.0.0.1:${port}`;
  });

  it('serves the page, revalidated, and its assets with hashed names, cached for a year', async () => {
    const manifest = JSON.parse(await readFile(join(dir, 'dist', 'manifest.json'), 'utf8'));
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(page.headers.get('content-encoding')).toBe('gzip');
    expect(await page.text()).toBe(await readFile(join(dir, 'dist', 'index.html'), 'utf8'));
    const etag = page.headers.get('etag') as string;
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    const unchanged = await fetch(`${base}/`, { headers: { 'if-none-match': etag } });
    expect(unchanged.status).toBe(304);

    const [style, script] = manifest.assets as string[];
    for (const [path, type] of [
      [script, 'text/javascript; charset=utf-8'],
      [style, 'text/css; charset=utf-8'],
    ] as const) {
      const asset = await fetch(`${base}/${path}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toBe(type);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(asset.headers.get('x-content-type-options')).toBe('nosniff');
      expect(Buffer.from(await asset.arrayBuffer())).toEqual(
        await readFile(join(dir, 'dist', path as string)),
      );
    }
    const head = await fetch(`${base}/${script}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('serves nothing but the files of the build', async () => {
    for (const path of [
      '/assets/manifest.json',
      '/assets/..%2Fmanifest.json',
      '/assets/%2e%2e/%2e%2e/package.json',
      '/assets/../../package.json',
      '/manifest.json',
      '/assets/',
    ]) {
      const response = await fetch(`${base}${path}`);
      expect([path, response.status]).toEqual([path, 404]);
    }
    // GraphQL is still where it was.
    const graphql = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ airQualityRuns { id } }' }),
    });
    expect(await graphql.json()).toEqual({ data: { airQualityRuns: [] } });
  });

  it('answers 503 with what to do when there is no build', async () => {
    const other = appServing(join(dir, 'none'));
    const { port } = await other.start(0, '127.0.0.1');
    try {
      const response = await fetch(`http://127.0.0.1:${port}/`);
      expect(response.status).toBe(503);
      expect(await response.text()).toBe(
        'The dashboard is not built. Run `npm run build:dashboard` (the API still answers at /graphql).\n',
      );
      expect(other.logger.errors.map(([message]) => String(message))).toEqual([
        expect.stringMatching(/^the dashboard cannot be served: ENOENT/),
      ]);
    } finally {
      await other.stop();
    }
  });
});
