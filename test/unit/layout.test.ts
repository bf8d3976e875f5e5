import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The folders of src/, top to bottom. A folder imports only from folders of a higher rank (below
 * it) or from itself; folders of one rank are siblings and do not import each other.
 */
const LAYOUT: readonly { readonly rank: number; readonly folders: readonly string[] }[] = [
  { rank: 1, folders: ['cli'] },
  { rank: 2, folders: ['server'] },
  { rank: 3, folders: ['schema', 'plugins', 'live'] },
  { rank: 4, folders: ['errors'] },
  { rank: 5, folders: ['context'] },
  { rank: 6, folders: ['sources', 'poller'] },
  { rank: 7, folders: ['client'] },
  { rank: 8, folders: ['ingest', 'air-quality'] },
  { rank: 9, folders: ['db'] },
  { rank: 10, folders: ['config'] },
  { rank: 11, folders: ['util'] },
];

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SRC = join(ROOT, 'src');

const rankOf = new Map(LAYOUT.flatMap(({ rank, folders }) => folders.map((f) => [f, rank])));

interface Import {
  /** The importing file, relative to the repository (src/db/pool.ts). */
  readonly from: string;
  /** Where the import stands, file:line. */
  readonly at: string;
  /** As written in the file. */
  readonly specifier: string;
  /** The file it resolves to, relative to the repository; null when there is none. */
  readonly to: string | null;
}

const posix = (path: string) => path.split(sep).join('/');

function sourceFiles(): string[] {
  return readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => `src/${posix(file)}`)
    .sort();
}

/** The relative imports of a file's text (static, re-exports, `import type`, dynamic), with lines. */
function importsOf(text: string): { specifier: string; line: number }[] {
  const source = ts.createSourceFile('file.ts', text, ts.ScriptTarget.Latest);
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.filter(({ fileName }) => fileName.startsWith('./') || fileName.startsWith('../'))
    .map(({ fileName, pos }) => ({
      specifier: fileName,
      line: source.getLineAndCharacterOfPosition(pos).line + 1,
    }));
}

function relativeImports(files: readonly string[]): Import[] {
  const known = new Set(files);
  const resolve = (from: string, specifier: string): string | null => {
    const base = posix(normalize(join(dirname(from), specifier)));
    const candidates = [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, `${base}/index.ts`];
    return candidates.find((candidate) => known.has(candidate)) ?? null;
  };
  return files.flatMap((from) =>
    importsOf(readFileSync(join(ROOT, from), 'utf8')).map(({ specifier, line }) => ({
      from,
      at: `${from}:${line}`,
      specifier,
      to: resolve(from, specifier),
    })),
  );
}

/** The top folder of a file of src/ (src/db/pool.ts: db), null for a file loose in src/. */
function folderOf(file: string): string | null {
  const parts = file.split('/');
  return parts.length > 2 ? (parts[1] as string) : null;
}

/** Why the import breaks the layout, or null when it keeps it. */
function layoutBreach({ from, to }: Import): string | null {
  const source = folderOf(from);
  const target = to === null ? null : folderOf(to);
  if (source === null || target === null || source === target) return null;
  const sourceRank = rankOf.get(source);
  const targetRank = rankOf.get(target);
  if (sourceRank === undefined || targetRank === undefined) return null; // reported on its own
  if (targetRank > sourceRank) return null;
  return targetRank === sourceRank
    ? `${source}/ and ${target}/ are siblings (rank ${sourceRank}): neither imports the other`
    : `${source}/ (rank ${sourceRank}) imports only folders below it, and ${target}/ is rank ${targetRank}`;
}

/** The circles of the import graph (strongly connected components of more than one file). */
function circles(files: readonly string[], imports: readonly Import[]): string[][] {
  const next = new Map(files.map((file) => [file, [] as string[]]));
  for (const { from, to } of imports) if (to !== null && to !== from) next.get(from)?.push(to);
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string) => {
    index.set(file, counter);
    low.set(file, counter);
    counter += 1;
    stack.push(file);
    onStack.add(file);
    for (const to of next.get(file) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(file, Math.min(low.get(file) as number, low.get(to) as number));
      } else if (onStack.has(to)) {
        low.set(file, Math.min(low.get(file) as number, index.get(to) as number));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1) found.push(component.sort());
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return found;
}

/** One way round a circle, import by import, from its first file back to it. */
function circleThrough(circle: readonly string[], imports: readonly Import[]): string[] {
  const members = new Set(circle);
  const start = circle[0] as string;
  const reachedBy = new Map<string, Import>();
  const queue = [start];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const anImport of imports) {
      if (anImport.from !== file || anImport.to === null || !members.has(anImport.to)) continue;
      if (anImport.to === start) {
        const path = [anImport];
        for (let at = file; at !== start; at = (reachedBy.get(at) as Import).from) {
          path.unshift(reachedBy.get(at) as Import);
        }
        return path.map(({ at, specifier }) => `${at} imports ${specifier}`);
      }
      if (!reachedBy.has(anImport.to)) {
        reachedBy.set(anImport.to, anImport);
        queue.push(anImport.to);
      }
    }
  }
  return [...circle];
}

describe('the layout of src/', () => {
  const files = sourceFiles();
  const imports = relativeImports(files);

  it('reads every kind of relative import, and resolves those of src/ to their files', () => {
    const text = [
      "import type { A } from './a.js';",
      "export { b } from '../b.js';",
      'import {',
      '  c,',
      "} from './c.js';",
      "const d = await import('./d.js');",
      "import './e.js';",
      "import { readFile } from 'node:fs/promises';",
      "import ts from 'typescript';",
    ].join('\n');
    expect(importsOf(text)).toEqual([
      { specifier: './a.js', line: 1 },
      { specifier: '../b.js', line: 2 },
      { specifier: './c.js', line: 5 },
      { specifier: './d.js', line: 6 },
      { specifier: './e.js', line: 7 },
    ]);
    const unresolved = imports
      .filter(({ to }) => to === null)
      .map(({ at, specifier }) => `${at} imports ${specifier}, which is no file of src/`);
    expect(unresolved).toEqual([]);
  });

  it('says which import breaks the layout, and why', () => {
    const breach = (from: string, to: string) =>
      layoutBreach({ from, at: `${from}:1`, specifier: '', to });
    expect(breach('src/db/pool.ts', 'src/server/app.ts')).toBe(
      'db/ (rank 9) imports only folders below it, and server/ is rank 2',
    );
    expect(breach('src/poller/poller.ts', 'src/sources/generator/run.ts')).toBe(
      'poller/ and sources/ are siblings (rank 6): neither imports the other',
    );
    expect(breach('src/server/app.ts', 'src/db/pool.ts')).toBeNull();
    expect(breach('src/db/pool.ts', 'src/db/queryable.ts')).toBeNull();
  });

  it('has every file in a folder of the layout table, none loose at the top of src/', () => {
    const loose = files.filter((file) => folderOf(file) === null);
    expect(loose.map((file) => `${file} sits loose at the top of src/`)).toEqual([]);
    // The table and the tree name the same folders: none missing from the table, none stale in it.
    const folders = [...new Set(files.map(folderOf))].filter((folder) => folder !== null).sort();
    expect(folders).toEqual([...rankOf.keys()].sort());
  });

  it('imports only downwards: no folder imports one above it or a sibling', () => {
    const breaches = imports.flatMap((anImport) => {
      const breach = layoutBreach(anImport);
      return breach === null ? [] : [`${anImport.at} imports ${anImport.specifier}: ${breach}`];
    });
    expect(breaches).toEqual([]);
  });

  it('finds a circle and names the imports round it', () => {
    const made = (from: string, to: string): Import => ({
      from,
      at: `${from}:3`,
      specifier: `./${to.split('/').pop()?.replace(/\.ts$/, '.js')}`,
      to,
    });
    const graph = [
      made('src/db/a.ts', 'src/db/b.ts'),
      made('src/db/b.ts', 'src/db/c.ts'),
      made('src/db/c.ts', 'src/db/a.ts'),
      made('src/db/c.ts', 'src/db/d.ts'),
    ];
    const found = circles(['src/db/a.ts', 'src/db/b.ts', 'src/db/c.ts', 'src/db/d.ts'], graph);
    expect(found).toEqual([['src/db/a.ts', 'src/db/b.ts', 'src/db/c.ts']]);
    expect(circleThrough(found[0] as string[], graph)).toEqual([
      'src/db/a.ts:3 imports ./b.js',
      'src/db/b.ts:3 imports ./c.js',
      'src/db/c.ts:3 imports ./a.js',
    ]);
  });

  it('has no circle of files', () => {
    const found = circles(files, imports).map(
      (circle) => `circle of files: ${circleThrough(circle, imports).join(', then ')}`,
    );
    expect(found).toEqual([]);
  });
});
