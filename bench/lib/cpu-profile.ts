import { relative } from 'node:path';
import { markdownTable } from './report.js';

/**
 * A summary of a V8 CPU profile (Profiler.stop of node:inspector): where the samples fell, by package or source
 * file, and the functions with the most self time. Enough to say why a target is missed.
 */

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly hitCount?: number;
}

export interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

const ROOT = new URL('../../', import.meta.url).pathname;

const IDLE = 'idle: waiting for MariaDB, the network or a timer';

/** Where a function lives: an npm package, a file of this project, Node itself, or V8. */
function placeOf(url: string, functionName: string): string {
  if (functionName === '(idle)') return IDLE;
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (url === '') return 'native code (socket writes, string encoding, V8)';
  if (url.startsWith('node:')) return 'Node.js internals';
  const path = url.replace(/^file:\/\//, '');
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (match) return match[1] as string;
  return relative(ROOT, path);
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const at = path.lastIndexOf('node_modules/');
  return at >= 0 ? path.slice(at + 'node_modules/'.length) : relative(ROOT, path) || url;
}

function top(map: Map<string, number>, total: number, limit: number): string[][] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, hits]) => [name, `${((hits * 100) / total).toFixed(1)} %`]);
}

export function summarizeProfile(profile: Profile, limit = 12): string {
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const byPlace = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const count = hits.get(node.id) ?? 0;
    if (count === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const place = placeOf(url, functionName);
    byPlace.set(place, (byPlace.get(place) ?? 0) + count);
    const name =
      url === ''
        ? `(${functionName || 'anonymous'})`
        : `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + count);
  }
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  const idle = byPlace.get(IDLE) ?? 0;
  const busy = [...byPlace]
    .filter(([place]) => place !== IDLE)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([place, hits]) => `${place} ${((hits * 100) / Math.max(1, total - idle)).toFixed(0)} %`);
  return [
    `${total} samples over ${seconds.toFixed(1)} s; the process was busy ` +
      `${(((total - idle) * 100) / Math.max(1, total)).toFixed(0)} % of the time, and of that ` +
      `time the largest shares went to ${busy.join(', ')}. Self time by package or file:`,
    '',
    markdownTable(['where', 'self time'], top(byPlace, total, limit)),
    '',
    'Functions with the most self time:',
    '',
    markdownTable(['function', 'self time'], top(byFunction, total, limit)),
  ].join('\n');
}
