import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Plugin } from 'esbuild';

/**
 * The dashboard's build: web/ (TypeScript, one stylesheet, one HTML page) bundled by esbuild into
 * web/dist/, with content-hashed asset names and a manifest. Belgium's outline is picked out of
 * Natural Earth's countries (world-atlas, 1:10m) at build time, so the page carries one country,
 * not the world.
 *
 * The build is skipped when web/dist/ was built from the same inputs (a fingerprint of web/'s
 * files and of the versions of the packages bundled), so that every start of the API can ask
 * for it. It writes into a fresh folder and renames it into place: a running server, or another
 * process building at the same time, never sees a half-written build.
 */

const require = createRequire(import.meta.url);

/** The page's sources. */
export const DASHBOARD_SOURCE = fileURLToPath(new URL('../../web/', import.meta.url));
/** Where the build goes (git-ignored). */
export const DASHBOARD_OUT = join(DASHBOARD_SOURCE, 'dist');
/** The budget of the page's JavaScript, gzipped. */
export const MAX_JS_GZIP_BYTES = 150 * 1024;

/** Natural Earth's (and world-atlas's) id of Belgium: ISO 3166-1 numeric. */
const BELGIUM = '056';
/** The packages whose code or data end up in the page: a new version means a new build. */
const BUNDLED = ['esbuild', 'graphql-ws', 'd3-geo', 'd3-array', 'topojson-client', 'world-atlas'];

export interface DashboardManifest {
  readonly fingerprint: string;
  /** The page, then its assets, as paths relative to the build folder. */
  readonly index: string;
  /** The style sheet, then the script: by kind, whatever their hashed names. */
  readonly assets: readonly string[];
  /** Gzipped size of all the page's JavaScript (level 9). */
  readonly jsGzipBytes: number;
}

export interface DashboardBuild extends DashboardManifest {
  readonly dir: string;
  /** False when the build in place was already up to date. */
  readonly rebuilt: boolean;
  readonly ms: number;
}

export class DashboardBudgetError extends Error {
  constructor(
    readonly jsGzipBytes: number,
    readonly maxBytes: number,
  ) {
    super(
      `The dashboard's JavaScript is ${(jsGzipBytes / 1024).toFixed(1)} KB gzipped, above its budget of ${(maxBytes / 1024).toFixed(0)} KB: bundle less.`,
    );
    this.name = 'DashboardBudgetError';
  }
}

/** What the build reads from web/: a change to any of them means a new build. */
const INPUTS = ['index.html', 'styles.css', 'tsconfig.json', 'src'];

async function filesUnder(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOTDIR') return null;
      throw error;
    },
  );
  if (entries === null) return [path];
  const found: string[] = [];
  for (const entry of entries) found.push(...(await filesUnder(join(path, entry.name))));
  return found.sort();
}

async function fingerprintOf(sourceDir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const input of INPUTS) {
    for (const file of await filesUnder(join(sourceDir, input))) {
      hash
        .update(relative(sourceDir, file))
        .update('\0')
        .update(await readFile(file))
        .update('\0');
    }
  }
  for (const name of BUNDLED) hash.update(`${name}@${await packageVersion(name)}\0`);
  return hash.digest('hex').slice(0, 32);
}

/** A package's version: its package.json, found above its entry where it exports none. */
async function packageVersion(name: string): Promise<string> {
  let entry: string;
  try {
    entry = require.resolve(`${name}/package.json`);
  } catch {
    entry = require.resolve(name);
  }
  let dir = dirname(entry);
  for (;;) {
    try {
      const json = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
      if (json.name === name) return String(json.version);
    } catch {
      // No package.json here: look further up.
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json found for ${name}`);
    dir = parent;
  }
}

async function readManifest(outDir: string): Promise<DashboardManifest | null> {
  try {
    return JSON.parse(await readFile(join(outDir, 'manifest.json'), 'utf8')) as DashboardManifest;
  } catch {
    return null;
  }
}

/** Resolves `import outline from 'belgium-outline'` to Belgium's GeoJSON feature. */
function belgiumOutline(): Plugin {
  return {
    name: 'belgium-outline',
    setup(build) {
      build.onResolve({ filter: /^belgium-outline$/ }, () => ({
        path: 'belgium-outline',
        namespace: 'belgium-outline',
      }));
      build.onLoad({ filter: /.*/, namespace: 'belgium-outline' }, async () => {
        const { feature } = await import('topojson-client');
        const path = require.resolve('world-atlas/countries-10m.json');
        // biome-ignore lint/suspicious/noExplicitAny: TopoJSON as world-atlas ships it
        const world = JSON.parse(await readFile(path, 'utf8')) as any;
        const countries = feature(world, world.objects.countries) as unknown as {
          features: { id?: string; geometry: unknown }[];
        };
        const belgium = countries.features.find((f) => f.id === BELGIUM);
        if (!belgium) throw new Error(`world-atlas has no country ${BELGIUM} (Belgium)`);
        // Four decimals of a degree are ~10 m: more than the map can show.
        const text = JSON.stringify(
          { type: 'Feature', properties: {}, geometry: belgium.geometry },
          (_k, v) => (typeof v === 'number' ? Math.round(v * 1e4) / 1e4 : v),
        );
        return { contents: text, loader: 'json', watchFiles: [path] };
      });
    },
  };
}

/**
 * Builds the dashboard into outDir unless it is up to date (force: always). Fails with
 * DashboardBudgetError, leaving the previous build in place, when the JavaScript is over budget.
 */
export async function buildDashboard(
  options: { sourceDir?: string; outDir?: string; force?: boolean; maxJsGzipBytes?: number } = {},
): Promise<DashboardBuild> {
  const started = performance.now();
  const sourceDir = options.sourceDir ?? DASHBOARD_SOURCE;
  const outDir = options.outDir ?? DASHBOARD_OUT;
  const maxBytes = options.maxJsGzipBytes ?? MAX_JS_GZIP_BYTES;
  const fingerprint = await fingerprintOf(sourceDir);
  const existing = await readManifest(outDir);
  const elapsed = () => Math.round(performance.now() - started);
  if (!options.force && existing?.fingerprint === fingerprint && existing.jsGzipBytes <= maxBytes) {
    return { ...existing, dir: outDir, rebuilt: false, ms: elapsed() };
  }

  const { build } = await import('esbuild');
  const staging = `${outDir}.${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const result = await build({
      entryPoints: [join(sourceDir, 'src/main.ts')],
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
      outdir: join(staging, 'assets'),
      entryNames: '[name]-[hash]',
      assetNames: '[name]-[hash]',
      metafile: true,
      logLevel: 'silent',
      tsconfig: join(sourceDir, 'tsconfig.json'),
      plugins: [belgiumOutline()],
    });
    const outputs = Object.keys(result.metafile.outputs).map((path) => relative(staging, path));
    const script = outputs.find((path) => path.endsWith('.js'));
    const style = outputs.find((path) => path.endsWith('.css'));
    if (!script || !style)
      throw new Error(`esbuild made no script or stylesheet: ${outputs.join(', ')}`);
    let jsGzipBytes = 0;
    for (const path of outputs.filter((p) => p.endsWith('.js'))) {
      jsGzipBytes += gzipSync(await readFile(join(staging, path)), { level: 9 }).length;
    }
    if (jsGzipBytes > maxBytes) throw new DashboardBudgetError(jsGzipBytes, maxBytes);
    const page = (await readFile(join(sourceDir, 'index.html'), 'utf8'))
      .replace('{{script}}', `/${script}`)
      .replace('{{style}}', `/${style}`);
    await writeFile(join(staging, 'index.html'), page);
    const manifest: DashboardManifest = {
      fingerprint,
      index: 'index.html',
      assets: [style, script],
      jsGzipBytes,
    };
    await writeFile(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await swapInto(staging, outDir, fingerprint);
    return { ...manifest, dir: outDir, rebuilt: true, ms: elapsed() };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Renames the staged build into place; another process's identical build may win the race. */
async function swapInto(staging: string, outDir: string, fingerprint: string): Promise<void> {
  await mkdir(dirname(outDir), { recursive: true });
  for (let attempt = 0; ; attempt += 1) {
    const old = `${outDir}.old-${randomBytes(4).toString('hex')}`;
    try {
      await rename(outDir, old).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      await rename(staging, outDir);
      await rm(old, { recursive: true, force: true });
      return;
    } catch (error) {
      await rm(old, { recursive: true, force: true });
      if ((await readManifest(outDir))?.fingerprint === fingerprint) return;
      if (attempt >= 3) throw error;
    }
  }
}
